#include "load/tcp_load.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <memory>
#include <stdexcept>
#include <thread>

#include <asio/connect.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <fmt/format.h>

#include "load/config_error.h"
#include "load/payload_checker.h"
#include "net/endpoint.h"
#include "net/error.h"

namespace load {

using Clock = std::chrono::steady_clock;

TcpCounters& TcpCounters::operator+=(const TcpCounters& other) {
  messages += other.messages;
  bytes += other.bytes;
  mismatches += other.mismatches;
  resets += other.resets;
  short_echoes += other.short_echoes;
  other_errors += other.other_errors;
  connect_failures += other.connect_failures;
  return *this;
}

const char* to_string(Phase phase) {
  switch (phase) {
    case Phase::connecting: return "connecting";
    case Phase::warmup: return "warmup";
    case Phase::measuring: return "measuring";
  }
  return "?";
}

double TcpLoadResult::messages_per_s() const {
  return measured_s > 0 ? static_cast<double>(totals.messages) / measured_s : 0.0;
}

double TcpLoadResult::megabytes_per_s() const {
  return measured_s > 0 ? static_cast<double>(totals.bytes) / measured_s / 1e6 : 0.0;
}

namespace {

// A write gathers at most this much of due messages into one send() (but always one message).
constexpr std::size_t kWriteBatchBytes = 256 * 1024;
// Each connection reads into a buffer of its own (an async read owns its buffer until it
// completes) of message size x depth, within these bounds; all of them together stay under
// kReadBudgetBytes, so 10,000 connections of 16 KiB messages cost 6.4 KiB each, not 160 MB.
constexpr std::size_t kMinReadBytes = 64;
constexpr std::size_t kMaxReadBytes = 256 * 1024;
constexpr std::size_t kReadBudgetBytes = 64 * 1024 * 1024;
// Connection attempts in progress at once per thread: a burst of 10,000 SYNs would overflow the
// server's accept backlog and turn into 1 s, 3 s, ... SYN retransmits.
constexpr std::size_t kConnectsInFlight = 64;

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

std::uint64_t nanoseconds(Clock::duration d) {
  return d.count() < 0 ? 0
                       : static_cast<std::uint64_t>(
                             std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

enum class Failure { reset, short_echo, other, mismatch_extra };

Failure classify(const std::error_code& error) {
  if (error == asio::error::connection_reset || error == asio::error::broken_pipe ||
      error == asio::error::connection_aborted) {
    return Failure::reset;
  }
  return Failure::other;
}

// When traffic runs, in the worker's clock. Set on the worker's thread.
struct Timing {
  Clock::time_point start;
  Clock::time_point warmup_end;
  Clock::time_point end;
};

// Read-only configuration and the few counters all threads share.
struct Shared {
  TcpLoadConfig config;
  std::vector<asio::ip::tcp::endpoint> endpoints;
  std::atomic<std::uint64_t> connections_up{0};
  std::atomic<std::uint64_t> connections_established{0};
  std::atomic<std::uint64_t> connects_resolved{0};  // established or failed
  std::atomic<std::uint64_t> connect_failures{0};
  std::mutex error_mutex;
  std::string first_connect_error;  // guarded by error_mutex
};

// What a worker counted since the last take.
struct Interval {
  TcpCounters counts;
  LatencyHistogram latency;
};

class Worker;

// One TCP connection of the load. Threading: everything runs on its worker's thread.
class Connection {
 public:
  Connection(Worker& worker, std::uint64_t id);
  void connect();
  void start_traffic();
  void close() noexcept;

 private:
  void on_connected(const std::error_code& error);
  void schedule_next();
  void kick_write();
  void wait_writable();
  void read_more();
  void on_data(std::size_t n);
  void fail(Failure kind, const std::error_code& error = {});

  Worker& worker_;
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
  std::deque<Clock::time_point> due_;  // due times of messages written or queued, not yet echoed
  std::vector<std::byte> pending_;     // the unsent tail of a partial write
  std::vector<std::byte> read_buffer_;
  std::size_t pending_offset_ = 0;
  Clock::time_point next_due_{};
  Clock::duration interval_{};
};

// One thread with its io_context and its connections.
// Threading: the post_* methods and take_interval() may be called from any thread; the rest runs
// on the worker's own thread.
class Worker {
 public:
  explicit Worker(Shared& shared) : shared_(shared), guard_(io_.get_executor()) {
    thread_ = std::jthread([this] { run(); });
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  // Stops the io_context if finish() was not called (an exception in the controller), then joins.
  ~Worker() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  void post_connect(std::uint64_t id) {
    asio::post(io_, [this, id] {
      connect_queue_.push_back(id);
      pump_connects();
    });
  }
  void post_start_traffic(Timing timing) {
    asio::post(io_, [this, timing] {
      timing_ = timing;
      traffic_started_ = true;
      for (auto& connection : connections_) connection->start_traffic();
    });
  }
  // Closes every connection; the thread ends once the aborted handlers have run. Then join().
  void post_finish() {
    asio::post(io_, [this] {
      finished_ = true;
      connect_queue_.clear();
      for (auto& connection : connections_) connection->close();
      guard_.reset();
    });
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  Interval take_interval() {
    std::lock_guard lock(stats_mutex_);
    Interval out = std::move(interval_);
    interval_ = Interval{};
    return out;
  }
  // After join() only.
  const Interval& totals() const { return totals_; }
  const std::string& failure() const { return failure_; }

  // --- worker thread only ---
  asio::io_context& io() { return io_; }
  Shared& shared() { return shared_; }
  const TcpLoadConfig& config() const { return shared_.config; }
  bool traffic_started() const { return traffic_started_; }
  bool finished() const { return finished_; }
  const Timing& timing() const { return timing_; }
  std::vector<std::byte>& write_buffer() { return write_buffer_; }
  std::vector<std::uint64_t>& latency_scratch() { return latency_scratch_; }

  void connect_finished() {
    --connecting_;
    pump_connects();
  }

  // Messages completed by one read: latencies of the intact ones, count of the bad ones.
  void record_messages(Clock::time_point now, std::span<const std::uint64_t> latencies,
                       std::uint64_t mismatches) {
    const bool in_window = now < timing_.end;
    const bool measured = in_window && now >= timing_.warmup_end;
    const std::uint64_t size = shared_.config.message_size;
    std::lock_guard lock(stats_mutex_);
    interval_.counts.mismatches += mismatches;
    totals_.counts.mismatches += mismatches;
    if (!in_window) return;
    for (const auto ns : latencies) interval_.latency.record(ns);
    interval_.counts.messages += latencies.size();
    interval_.counts.bytes += latencies.size() * size;
    if (!measured) return;
    for (const auto ns : latencies) totals_.latency.record(ns);
    totals_.counts.messages += latencies.size();
    totals_.counts.bytes += latencies.size() * size;
  }

  void record_failure(Failure kind) {
    std::lock_guard lock(stats_mutex_);
    for (auto* counts : {&interval_.counts, &totals_.counts}) {
      switch (kind) {
        case Failure::reset: ++counts->resets; break;
        case Failure::short_echo: ++counts->short_echoes; break;
        case Failure::other: ++counts->other_errors; break;
        case Failure::mismatch_extra: ++counts->mismatches; break;
      }
    }
  }

  void record_connect_failure(const std::error_code& error, const asio::ip::tcp::endpoint& to) {
    {
      std::lock_guard lock(stats_mutex_);
      ++interval_.counts.connect_failures;
      ++totals_.counts.connect_failures;
    }
    shared_.connect_failures.fetch_add(1);
    std::lock_guard lock(shared_.error_mutex);
    if (shared_.first_connect_error.empty()) {
      shared_.first_connect_error = fmt::format("connect {}: {}", net::format_endpoint(to),
                                                net::to_system_error(error).message());
    }
  }

 private:
  void run() {
    // A thread never lets an exception escape (std::terminate): keep the reason for the report.
    try {
      io_.run();
    } catch (const std::exception& error) {
      failure_ = error.what();
    }
  }

  void pump_connects() {
    while (!finished_ && connecting_ < kConnectsInFlight && !connect_queue_.empty()) {
      const std::uint64_t id = connect_queue_.front();
      connect_queue_.pop_front();
      ++connecting_;
      connections_.push_back(std::make_unique<Connection>(*this, id));
      connections_.back()->connect();
    }
  }

  Shared& shared_;
  asio::io_context io_{1};  // concurrency hint: run by one thread only, so Asio can skip locking
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  // Connections after io_: destroyed first, while the io_context they use still exists.
  std::vector<std::unique_ptr<Connection>> connections_;
  std::deque<std::uint64_t> connect_queue_;
  std::size_t connecting_ = 0;
  Timing timing_{};
  bool traffic_started_ = false;
  bool finished_ = false;
  std::vector<std::byte> write_buffer_;
  std::vector<std::uint64_t> latency_scratch_;
  std::string failure_;  // written by the thread before it ends, read after join()

  std::mutex stats_mutex_;  // the controller takes intervals while this thread records
  Interval interval_;       // guarded by stats_mutex_
  Interval totals_;         // guarded by stats_mutex_ (read without it after join())

  std::jthread thread_;  // last: started when everything above exists
};

Connection::Connection(Worker& worker, std::uint64_t id)
    : worker_(worker),
      id_(id),
      socket_(worker.io()),
      timer_(worker.io()),
      checker_(id, worker.config().message_size) {}

void Connection::connect() {
  state_ = State::connecting;
  timer_.expires_after(seconds(worker_.config().connect_timeout_s));
  // Closing the socket makes the connect complete with operation_aborted: a timeout.
  timer_.async_wait([this](const std::error_code& error) {
    if (!error && state_ == State::connecting) socket_.close();
  });
  asio::async_connect(socket_, worker_.shared().endpoints,
                      [this](const std::error_code& error, const asio::ip::tcp::endpoint&) {
                        on_connected(error);
                      });
}

void Connection::on_connected(const std::error_code& error) {
  if (state_ != State::connecting) return;  // closed by finish()
  timer_.cancel();
  worker_.shared().connects_resolved.fetch_add(1);
  std::error_code setup_error;
  if (!error) {
    socket_.set_option(asio::ip::tcp::no_delay(true), setup_error);
    if (!setup_error) socket_.non_blocking(true, setup_error);
  }
  if (error || setup_error) {
    state_ = State::dead;
    const auto cause = error == asio::error::operation_aborted
                           ? std::make_error_code(std::errc::timed_out)
                           : (error ? error : setup_error);
    worker_.record_connect_failure(cause, worker_.shared().endpoints.front());
    std::error_code ignored;
    socket_.close(ignored);
    worker_.connect_finished();
    return;
  }
  state_ = State::up;
  worker_.shared().connections_up.fetch_add(1);
  worker_.shared().connections_established.fetch_add(1);
  const auto& config = worker_.config();
  const std::size_t budget = std::max(kMinReadBytes, kReadBudgetBytes / config.connections);
  read_buffer_.resize(std::clamp(config.message_size * config.depth, kMinReadBytes,
                                 std::min(budget, kMaxReadBytes)));
  read_more();
  if (worker_.traffic_started()) start_traffic();
  worker_.connect_finished();  // may start more connections: keep last
}

void Connection::start_traffic() {
  if (state_ != State::up || traffic_) return;
  traffic_ = true;
  const auto& config = worker_.config();
  const auto now = Clock::now();
  if (now >= worker_.timing().end) return;
  if (config.rate <= 0) {
    for (std::size_t i = 0; i < config.depth; ++i) due_.push_back(now);
    queued_ += config.depth;
    kick_write();
    return;
  }
  // Open loop: this connection's share of the rate, its phase spread over one interval so the
  // connections do not all send at the same instant.
  const double per_connection = config.rate / static_cast<double>(config.connections);
  interval_ = seconds(1.0 / per_connection);
  const double phase = static_cast<double>(id_ % config.connections) /
                       static_cast<double>(config.connections);
  next_due_ = std::max(worker_.timing().start, now - interval_) +
              std::chrono::duration_cast<Clock::duration>(interval_ * phase);
  schedule_next();
}

void Connection::schedule_next() {
  if (next_due_ >= worker_.timing().end) return;
  timer_.expires_at(next_due_);
  timer_.async_wait([this](const std::error_code& error) {
    if (error || state_ != State::up) return;
    const auto now = Clock::now();
    const auto end = worker_.timing().end;
    // Everything due by now, even if this thread was late: the lateness is the server's latency
    // as a user would see it (or ours; the series shows which).
    while (next_due_ <= now && next_due_ < end) {
      due_.push_back(next_due_);
      ++queued_;
      next_due_ += interval_;
    }
    kick_write();
    if (state_ == State::up) schedule_next();
  });
}

void Connection::kick_write() {
  if (state_ != State::up || waiting_write_) return;
  const std::size_t size = worker_.config().message_size;
  // Messages are generated into the thread's buffer and sent straight away; only an unsent tail
  // (socket buffer full) is copied into the connection's own pending_ buffer.
  while (queued_ > 0) {
    const std::size_t n = std::max<std::size_t>(
        1, std::min<std::uint64_t>(queued_, kWriteBatchBytes / size));
    auto& buffer = worker_.write_buffer();
    buffer.resize(n * size);
    for (std::size_t i = 0; i < n; ++i) {
      fill_payload(id_, next_sequence_ + i, 0, std::span(buffer.data() + i * size, size));
    }
    next_sequence_ += n;
    queued_ -= n;
    bytes_issued_ += buffer.size();
    std::error_code error;
    const std::size_t written = socket_.write_some(asio::buffer(buffer), error);
    if (error && error != asio::error::would_block) {
      fail(classify(error), error);
      return;
    }
    if (written < buffer.size()) {
      pending_.assign(buffer.begin() + static_cast<std::ptrdiff_t>(written), buffer.end());
      pending_offset_ = 0;
      wait_writable();
      return;
    }
  }
}

void Connection::wait_writable() {
  waiting_write_ = true;
  socket_.async_wait(asio::ip::tcp::socket::wait_write, [this](const std::error_code& error) {
    if (state_ != State::up) return;
    if (error) {
      fail(classify(error), error);
      return;
    }
    std::error_code write_error;
    const std::size_t written = socket_.write_some(
        asio::buffer(pending_.data() + pending_offset_, pending_.size() - pending_offset_),
        write_error);
    if (write_error && write_error != asio::error::would_block) {
      fail(classify(write_error), write_error);
      return;
    }
    pending_offset_ += written;
    if (pending_offset_ < pending_.size()) {
      wait_writable();
      return;
    }
    pending_.clear();
    pending_offset_ = 0;
    waiting_write_ = false;
    kick_write();
  });
}

// async_read_some, not async_wait + read: Asio re-arms epoll (epoll_ctl) for every async_wait,
// while a read that found the socket exhausted is simply queued until epoll reports data — one
// recv per echo, like a hand-written epoll client.
void Connection::read_more() {
  socket_.async_read_some(asio::buffer(read_buffer_),
                          [this](const std::error_code& error, std::size_t n) {
                            if (state_ != State::up) return;
                            if (error == asio::error::eof) {
                              fail(Failure::short_echo, error);
                            } else if (error) {
                              fail(classify(error), error);
                            } else {
                              on_data(n);
                              if (state_ == State::up) read_more();
                            }
                          });
}

void Connection::on_data(std::size_t n) {
  const bool closed_loop = worker_.config().rate <= 0;
  bytes_read_ += n;
  if (bytes_read_ > bytes_issued_) {  // more came back than was ever sent
    fail(Failure::mismatch_extra);
    return;
  }
  const auto now = Clock::now();
  auto& latencies = worker_.latency_scratch();
  latencies.clear();
  std::uint64_t bad = 0;
  checker_.feed(std::span<const std::byte>(read_buffer_.data(), n), [&](bool intact) {
    // bytes_read_ <= bytes_issued_ guarantees a due time for every completed message.
    const auto due = due_.front();
    due_.pop_front();
    if (intact) {
      latencies.push_back(nanoseconds(now - due));
    } else {
      ++bad;
    }
    if (closed_loop && now < worker_.timing().end && !worker_.finished()) {
      due_.push_back(now);
      ++queued_;
    }
  });
  if (!latencies.empty() || bad > 0) worker_.record_messages(now, latencies, bad);
  kick_write();
}

void Connection::fail(Failure kind, const std::error_code&) {
  if (state_ != State::up) return;
  // A peer that closes with nothing outstanding did not cut an echo short.
  if (kind == Failure::short_echo && due_.empty() && checker_.offset() == 0) kind = Failure::other;
  state_ = State::dead;
  worker_.shared().connections_up.fetch_sub(1);
  worker_.record_failure(kind);
  std::error_code ignored;
  timer_.cancel();
  socket_.close(ignored);
}

void Connection::close() noexcept {
  if (state_ == State::up) worker_.shared().connections_up.fetch_sub(1);
  if (state_ == State::connecting) worker_.shared().connects_resolved.fetch_add(1);
  state_ = State::dead;
  std::error_code ignored;
  timer_.cancel();
  socket_.close(ignored);
}

}  // namespace

TcpLoad::TcpLoad(TcpLoadConfig config) : config_(std::move(config)) {
  if (config_.connections == 0) throw ConfigError("connections", "must be at least 1");
  if (config_.message_size == 0) throw ConfigError("message_size", "must be at least 1 byte");
  if (config_.depth == 0) throw ConfigError("depth", "must be at least 1");
  if (!(config_.duration_s > 0)) throw ConfigError("duration_s", "must be more than 0 seconds");
  if (config_.warmup_s < 0) throw ConfigError("warmup_s", "must not be negative");
  if (config_.rate < 0) throw ConfigError("rate", "must not be negative");
  if (config_.connect_rate < 0) throw ConfigError("connect_rate", "must not be negative");
  if (!(config_.connect_timeout_s > 0)) {
    throw ConfigError("connect_timeout_s", "must be more than 0 seconds");
  }
}

void TcpLoad::stop() noexcept {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  wake_.notify_all();
}

bool TcpLoad::wait_until(Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  wake_.wait_until(lock, deadline, [this] { return stop_requested_; });
  return stop_requested_;
}

TcpLoadResult TcpLoad::run(const Progress& progress) {
  Shared shared;
  shared.config = config_;
  shared.endpoints = net::resolve_tcp(config_.target);

  std::size_t threads = config_.threads;
  if (threads == 0) threads = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
  threads = std::min(threads, config_.connections);

  TcpLoadResult result;
  result.threads = threads;
  std::vector<std::unique_ptr<Worker>> workers;
  for (std::size_t i = 0; i < threads; ++i) workers.push_back(std::make_unique<Worker>(shared));

  const auto run_start = Clock::now();
  auto last_sample = run_start;
  auto next_tick = run_start + std::chrono::seconds(1);
  Phase phase = Phase::connecting;

  // Takes every worker's interval: one line of the series, shown as progress.
  auto sample = [&](Clock::time_point now) {
    SecondSample s;
    LatencyHistogram latency;
    for (auto& worker : workers) {
      auto interval = worker->take_interval();
      s.counts += interval.counts;
      latency.merge(interval.latency);
    }
    s.elapsed_s = std::chrono::duration<double>(now - run_start).count();
    s.interval_s = std::chrono::duration<double>(now - last_sample).count();
    s.phase = phase;
    s.p50_ns = latency.value_at_quantile(0.50);
    s.p99_ns = latency.value_at_quantile(0.99);
    s.max_ns = latency.max();
    s.connections_up = shared.connections_up.load();
    s.connect_failures_total = shared.connect_failures.load();
    last_sample = now;
    result.series.push_back(s);
    if (progress) progress(s);
  };
  auto tick_if_due = [&] {
    const auto now = Clock::now();
    if (now < next_tick) return;
    sample(now);
    while (next_tick <= now) next_tick += std::chrono::seconds(1);
  };

  // Phase 1: connect, paced. Bounded: every attempt ends by its own timeout; the phase by this.
  const double pacing_s =
      config_.connect_rate > 0 ? static_cast<double>(config_.connections) / config_.connect_rate : 0;
  const auto connect_deadline =
      run_start + seconds(pacing_s + config_.connect_timeout_s + 1.0);
  std::uint64_t posted = 0;
  bool stopped = false;
  while (!stopped) {
    const auto now = Clock::now();
    std::uint64_t allowed = config_.connections;
    if (config_.connect_rate > 0) {
      const double elapsed = std::chrono::duration<double>(now - run_start).count();
      allowed = std::min<std::uint64_t>(
          config_.connections, static_cast<std::uint64_t>(elapsed * config_.connect_rate) + 1);
    }
    for (; posted < allowed; ++posted) workers[posted % threads]->post_connect(posted);
    if (shared.connects_resolved.load() >= config_.connections || now >= connect_deadline) break;
    tick_if_due();
    const auto wake = std::min(next_tick, now + std::chrono::milliseconds(
                                                    config_.connect_rate > 0 ? 1 : 10));
    stopped = wait_until(wake);
  }
  const auto traffic_start = Clock::now();
  result.connect_phase_s = std::chrono::duration<double>(traffic_start - run_start).count();

  // Phase 2: traffic, unless nothing connected.
  Timing timing{traffic_start, traffic_start + seconds(config_.warmup_s),
                traffic_start + seconds(config_.warmup_s + config_.duration_s)};
  Clock::time_point traffic_end = traffic_start;
  if (!stopped && shared.connections_established.load() > 0) {
    for (auto& worker : workers) worker->post_start_traffic(timing);
    phase = config_.warmup_s > 0 ? Phase::warmup : Phase::measuring;
    while (!stopped) {
      const auto now = Clock::now();
      if (now >= timing.end) break;
      if (now >= next_tick) {
        sample(now);
        next_tick += std::chrono::seconds(1);
        if (next_tick <= now) next_tick = now + std::chrono::seconds(1);
        if (Clock::now() >= timing.warmup_end) phase = Phase::measuring;
        continue;
      }
      stopped = wait_until(std::min(next_tick, timing.end));
    }
    traffic_end = std::min(Clock::now(), timing.end);
  }
  result.stopped_early = stopped;

  for (auto& worker : workers) worker->post_finish();
  for (auto& worker : workers) worker->join();
  if (Clock::now() > last_sample + std::chrono::milliseconds(50)) sample(Clock::now());

  for (auto& worker : workers) {
    if (!worker->failure().empty()) {
      throw std::runtime_error("load thread failed: " + worker->failure());
    }
    result.totals += worker->totals().counts;
    result.latency.merge(worker->totals().latency);
  }
  result.measured_s =
      std::max(0.0, std::chrono::duration<double>(traffic_end - timing.warmup_end).count());
  result.connections_established = shared.connections_established.load();
  {
    std::lock_guard lock(shared.error_mutex);
    result.first_connect_error = shared.first_connect_error;
  }
  return result;
}

}  // namespace load
