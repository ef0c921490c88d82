#pragma once

#include <cstddef>
#include <functional>
#include <span>

#include "net/tcp_stream.h"
#include "net/thread_per_connection_server.h"

namespace net {

// Called with each chunk the peer sent, before it is echoed (for --verbose).
using DataObserver = std::function<void(std::span<const std::byte>)>;

// RFC 862 echo on one connection: writes back every byte exactly as read, until the peer shuts
// its sending side (then, all echoed, we shut ours: half-close works), the stream's idle timeout
// passes with no progress either way, or an error. TCP_NODELAY is set: an echo is a reply.
// `buffer` is the read size (the server uses 64 KiB).
// Threading: runs on the stream's owning thread; `observer` is called on that thread.
SessionEnd echo_session(TcpStream& stream, std::span<std::byte> buffer,
                        const DataObserver& observer = {});

}  // namespace net
