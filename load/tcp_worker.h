#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "load/tcp_connection.h"
#include "load/tcp_run_state.h"

namespace load {

// One thread of a TCP load run: its own io_context and the connections it drives. No state is
// shared with the other workers on the data path but one uncontended stats lock per read (the run
// takes the counts once a second).
//
// Threading: the constructor, the destructor, post_*(), join() and take_interval() are for the
// run's thread (take_interval() may race with this worker's thread: it takes the stats lock);
// totals() and failure() after join() only. The rest, under "worker thread only", is called by
// this worker's connections, on its own thread.
class TcpWorker {
 public:
  // Starts the thread, idle until something is posted.
  explicit TcpWorker(TcpRunState& state);
  TcpWorker(const TcpWorker&) = delete;
  TcpWorker& operator=(const TcpWorker&) = delete;
  // Stops the io_context if post_finish() was not called (the run threw), then joins.
  ~TcpWorker();

  // Queues connection `id`; at most a few connect at once per worker (the rest wait their turn).
  void post_connect(std::uint64_t id);
  // Every connection up (and every one that connects later) starts its traffic in `window`.
  void post_start_traffic(const TrafficWindow& window);
  // Closes every connection; the thread ends once the aborted handlers have run. Then join().
  void post_finish();
  void join();

  // What was counted since the last take.
  TcpInterval take_interval();
  // After join() only: the totals (measured window only for messages and latency), and why the
  // thread failed, if it did ("" otherwise).
  const TcpInterval& totals() const { return totals_; }
  const std::string& failure() const { return failure_; }

  // --- worker thread only ---
  asio::io_context& io() { return io_; }
  TcpRunState& state() { return state_; }
  const TcpLoadConfig& config() const { return state_.config; }
  bool traffic_started() const { return traffic_started_; }
  bool finished() const { return finished_; }
  const TrafficWindow& window() const { return window_; }
  // One buffer for every connection's writes (a write finishes before the next one starts).
  std::vector<std::byte>& write_buffer() { return write_buffer_; }
  // Room for the latencies (and service times) of the messages one read completes.
  std::vector<std::uint64_t>& latency_scratch() { return latency_scratch_; }
  std::vector<std::uint64_t>& service_scratch() { return service_scratch_; }

  // A connection attempt ended (connected or failed): the next queued one may start.
  void connect_finished();
  // Messages completed by one read: latencies of the intact ones (and, open loop, their service
  // times: empty in closed loop), count of the bad ones. Inline: it runs once per read.
  void record_messages(Clock::time_point now, std::span<const std::uint64_t> latencies,
                       std::span<const std::uint64_t> service, std::uint64_t mismatches);
  void record_failure(ConnectionFailure kind);
  void record_connect_failure(const std::error_code& error, const asio::ip::tcp::endpoint& to);

 private:
  void run() noexcept;
  void pump_connects();

  TcpRunState& state_;
  asio::io_context io_{1};  // concurrency hint: run by one thread only, so Asio can skip locking
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  // Connections after io_: destroyed first, while the io_context they use still exists.
  std::vector<std::unique_ptr<TcpConnection>> connections_;
  std::deque<std::uint64_t> connect_queue_;
  std::size_t connecting_ = 0;
  TrafficWindow window_{};
  bool traffic_started_ = false;
  bool finished_ = false;
  std::vector<std::byte> write_buffer_;
  std::vector<std::uint64_t> latency_scratch_;
  std::vector<std::uint64_t> service_scratch_;
  std::string failure_;  // written by the thread before it ends, read after join()

  std::mutex stats_mutex_;  // the run takes intervals while this thread records
  TcpInterval interval_;    // guarded by stats_mutex_
  TcpInterval totals_;      // guarded by stats_mutex_ (read without it after join())

  std::jthread thread_;  // last: started when everything above exists
};

inline void TcpWorker::record_messages(Clock::time_point now,
                                       std::span<const std::uint64_t> latencies,
                                       std::span<const std::uint64_t> service,
                                       std::uint64_t mismatches) {
  const bool in_window = now < window_.end;
  const bool measured = in_window && now >= window_.warmup_end;
  const std::uint64_t size = state_.config.message_size;
  std::lock_guard lock(stats_mutex_);
  interval_.counts.mismatches += mismatches;
  totals_.counts.mismatches += mismatches;
  if (!in_window) return;
  for (const auto ns : latencies) interval_.latency.record(ns);
  for (const auto ns : service) interval_.service.record(ns);
  interval_.counts.messages += latencies.size();
  interval_.counts.bytes += latencies.size() * size;
  if (!measured) return;
  for (const auto ns : latencies) totals_.latency.record(ns);
  for (const auto ns : service) totals_.service.record(ns);
  totals_.counts.messages += latencies.size();
  totals_.counts.bytes += latencies.size() * size;
}

}  // namespace load
