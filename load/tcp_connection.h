#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <system_error>
#include <vector>

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "load/payload_checker.h"
#include "load/tcp_run_state.h"

namespace load {

class TcpWorker;

// One TCP connection of the load, as a state machine: idle -> connecting (bounded by the connect
// timeout) -> up (traffic: write what is due, read the echoes, check every byte, time every
// message) -> dead (closed by the run's end, or failed: counted, never reopened).
//
// Closed loop (rate 0): `depth` messages in flight; a message is due the moment the one before it
// came back. Open loop (rate > 0): message k is due on a fixed schedule (rate/connections per
// connection, phases spread), however slow the server is, and its latency counts from that due
// time: a stalled server shows up in the tail instead of slowing the schedule down. The open loop
// also times each message from its write (service time, what a closed loop measures), so a
// report can show both (docs/json.md).
//
// Writes go straight to the non-blocking socket from the worker's write buffer; only a tail the
// socket did not take is kept here, and waited on. Reads are async_read_some into a buffer of the
// connection's own, sized to the traffic.
//
// Threading: call from its worker's thread only; the worker destroys it after that thread ended.
class TcpConnection {
 public:
  // `id` numbers the connection within the run (its payload and its open-loop phase).
  TcpConnection(TcpWorker& worker, std::uint64_t id);
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  void connect();
  // Starts sending once connected (now or, if traffic already started, when connected).
  void start_traffic();
  void close() noexcept;

 private:
  void on_connected(const std::error_code& error);
  void schedule_next();
  void kick_write();
  void wait_writable();
  void read_more();
  void on_data(std::size_t n);
  void fail(ConnectionFailure kind);

  TcpWorker& worker_;
  std::uint64_t id_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;  // the connect timeout, then the open-loop schedule
  PayloadChecker checker_;
  enum class State { idle, connecting, up, dead } state_ = State::idle;
  bool waiting_write_ = false;
  bool traffic_ = false;
  std::uint64_t queued_ = 0;  // due, not yet written
  std::uint64_t next_sequence_ = 0;
  std::uint64_t bytes_issued_ = 0;  // handed to the kernel (or to pending_)
  std::uint64_t bytes_read_ = 0;
  // A message written or queued, not yet echoed: when it was due, and when it was handed to the
  // kernel (open loop only; the service time counts from there).
  struct InFlight {
    Clock::time_point due;
    Clock::time_point sent;
  };
  std::deque<InFlight> due_;
  std::vector<std::byte> pending_;  // the unsent tail of a partial write
  std::vector<std::byte> read_buffer_;
  std::size_t pending_offset_ = 0;
  Clock::time_point next_due_{};
  Clock::duration interval_{};
};

}  // namespace load
