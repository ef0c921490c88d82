#pragma once

#include <cstddef>
#include <functional>
#include <span>

#include "net/connection_info.h"
#include "net/tcp_stream.h"

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

// The echo server's session: the same echo with a buffer that fits the traffic. It reads into
// kSmallReadBytes on the thread's stack until one read fills that, then switches to a heap
// buffer of kLargeReadBytes (64 KiB) for the rest of the connection. Why: with 10,000 mostly
// idle or chatty connections, a 64 KiB heap buffer per thread costs a resident page each (plus
// glibc's per-thread malloc cache), while the small buffer lives in the stack page the thread
// touches anyway; bulk transfers still get 64 KiB reads after their first one.
inline constexpr std::size_t kSmallReadBytes = 256;
inline constexpr std::size_t kLargeReadBytes = 64 * 1024;
SessionEnd echo_session(TcpStream& stream, const DataObserver& observer = {});

}  // namespace net
