#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

namespace net {

// One datagram received. `size` may be 0: an empty datagram is legal, not an end of stream.
struct Datagram {
  std::size_t size = 0;
  asio::ip::udp::endpoint sender;
  bool truncated = false;  // larger than the buffer it was received into
};

// Result of one receive(): some datagrams, or none because the socket was stopped.
struct ReceiveResult {
  std::size_t count = 0;           // datagrams filled in
  bool stopped = false;            // stop() was called; count is 0
  std::uint32_t kernel_drops = 0;  // datagrams the kernel dropped so far (SO_RXQ_OVFL), cumulative
  std::error_code error;           // a reported error (say ICMP unreachable); try again
};

// An ICMP error about a datagram this socket sent: where that datagram was going and what the
// network answered (ECONNREFUSED for "port unreachable"). Threading: a plain value.
struct ErrorReport {
  asio::ip::udp::endpoint destination;
  std::error_code error;
};

// An unconnected UDP socket: it talks to whoever the caller chooses per datagram, so one ICMP
// "port unreachable" can't poison it (a connected UDP socket fails every later call with
// ECONNREFUSED). No SO_REUSEADDR: another process must not be able to share the port. Binding
// "::" is dual-stack.
//
// Threading: one thread may be blocked in receive() while another calls send_to(); stop() may be
// called from any thread (and from a signal handler) to wake the receiver, which then returns
// stopped. Destroy only after both have finished.
class UdpSocket {
 public:
  // Throws net::Error ("bind [::]:7890: Address already in use").
  UdpSocket(const asio::ip::address& address, std::uint16_t port);
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  asio::ip::udp::endpoint local_endpoint() const { return local_; }

  // Sends one datagram. Returns the error instead of throwing: a failed send is reported and the
  // chat goes on.
  std::error_code send_to(std::span<const std::byte> data, const asio::ip::udp::endpoint& to);

  // Blocks until at least one datagram arrives, then takes up to buffers.size() of those already
  // queued (one recvmmsg call). Each buffer should hold 65,536 bytes to get any datagram whole.
  ReceiveResult receive(std::span<const std::span<std::byte>> buffers,
                        std::span<Datagram> datagrams);

  // Turns on the socket's error queue (IP_RECVERR, and IPV6_RECVERR for an IPv6 socket). Linux
  // reports ICMP errors to an unconnected UDP socket only this way, naming the destination; the
  // queue then must be drained with read_error_reports(), since its entries use the receive
  // buffer. Call once, before the socket is shared between threads.
  void enable_error_reports();

  // Moves up to `max` queued error reports to the end of `out`; never blocks. Returns how many.
  // Thread-safe with respect to send_to() and receive() (the kernel's queue is the only state).
  std::size_t read_error_reports(std::vector<ErrorReport>& out, std::size_t max = 1024);

  // Wakes receive() for good. Any thread; async-signal-safe.
  void stop() noexcept;
  bool stop_requested() const noexcept { return stop_requested_.load(); }

  // Joins the multicast `group` (IPv4 or IPv6) on the interface the kernel's route for the group
  // picks (a link-local IPv6 group: the default multicast interface). A dual-stack socket joins
  // IPv4 groups too. Returns the error instead of throwing (no multicast route: ENODEV), so the
  // caller can go on without the group. Call before the socket is shared between threads.
  std::error_code join_group(const asio::ip::address& group);

  // Multicast this socket sends stays on the link (TTL and hop limit 1) and is not looped back to
  // this host's own sockets. Best effort. Call before the socket is shared between threads.
  void set_link_local_multicast();

  // Enlarges the kernel receive buffer (best effort; capped by net.core.rmem_max).
  void set_receive_buffer(int bytes);
  int native_handle() { return socket_.native_handle(); }

 private:
  asio::io_context io_;
  asio::ip::udp::socket socket_;
  asio::ip::udp::endpoint local_;
  int fd_ = -1;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace net
