#include "load/tcp_load.h"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "load/config_error.h"
#include "load/latency_histogram.h"
#include "load/tcp_run_state.h"
#include "load/tcp_worker.h"
#include "load/ticker.h"
#include "net/endpoint.h"
#include "net/error.h"

namespace load {

namespace {

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// Threads asked for, or min(4, cores); never more than connections.
std::size_t thread_count(const TcpLoadConfig& config) {
  std::size_t threads = config.threads;
  if (threads == 0) threads = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
  return std::min(threads, config.connections);
}

// How many connections may have been started `elapsed_s` into the connect phase.
std::uint64_t connects_allowed(const TcpLoadConfig& config, double elapsed_s) {
  if (config.connect_rate <= 0) return config.connections;
  return std::min<std::uint64_t>(config.connections,
                                 static_cast<std::uint64_t>(elapsed_s * config.connect_rate) + 1);
}

// How often the run looks whether every connection is gone: the early stop comes this soon.
constexpr auto kLostPoll = std::chrono::milliseconds(50);
// The longest a reconnect attempt after losing every connection may take.
constexpr double kProbeTimeoutSeconds = 2.0;

// One connection attempt to the target, bounded by `timeout_s`: "" if it connected (and was
// closed again at once), else why not.
std::string probe_connect(const std::vector<asio::ip::tcp::endpoint>& endpoints, double timeout_s) {
  asio::io_context io(1);
  asio::ip::tcp::socket socket(io);
  std::error_code result = asio::error::timed_out;
  bool done = false;
  socket.async_connect(endpoints.front(), [&](const std::error_code& error) {
    result = error;
    done = true;
  });
  io.run_for(to_clock_duration(timeout_s));
  if (!done) {
    socket.close();
    io.restart();
    io.run_for(std::chrono::seconds(1));  // the aborted handler, before `result` goes away
    result = asio::error::timed_out;
  }
  if (!result) return "";
  return fmt::format("reconnecting to {} failed: {}", net::format_endpoint(endpoints.front()),
                     net::to_system_error(result).message());
}

}  // namespace

struct TcpLoad::Run {
  Run(const TcpLoadConfig& config, const Progress& progress_callback);

  TcpRunState state;  // before the workers, which use it until they are joined
  std::vector<std::unique_ptr<TcpWorker>> workers;
  const Progress& progress;
  Clock::time_point start;
  Clock::time_point last_sample;
  Ticker ticker{Clock::time_point{}};
  Phase phase = Phase::connecting;
  TcpLoadResult result;
};

// Resolves the target and starts the workers; the run's clock starts when they are ready.
TcpLoad::Run::Run(const TcpLoadConfig& config, const Progress& progress_callback)
    : progress(progress_callback) {
  state.config = config;
  state.endpoints = net::resolve_tcp(config.target);
  result.threads = thread_count(config);
  for (std::size_t i = 0; i < result.threads; ++i) {
    workers.push_back(std::make_unique<TcpWorker>(state));
  }
  start = Clock::now();
  last_sample = start;
  ticker = Ticker(start);
}

TcpLoad::TcpLoad(TcpLoadConfig config) : config_(std::move(config)) {
  if (config_.connections == 0) throw ConfigError("connections", "must be at least 1");
  if (config_.message_size == 0) throw ConfigError("message_size", "must be at least 1 byte");
  if (config_.depth == 0) throw ConfigError("depth", "must be at least 1");
  if (!(config_.duration_s > 0)) throw ConfigError("duration_s", "must be more than 0 seconds");
  if (config_.warmup_s < 0) throw ConfigError("warmup_s", "must not be negative");
  if (config_.rate < 0) throw ConfigError("rate", "must not be negative");
  if (config_.connect_rate < 0) throw ConfigError("connect_rate", "must not be negative");
  // Written as "N/86400", not as a rounded decimal that would itself fall short of the bound.
  const auto connections = static_cast<double>(config_.connections);
  if (config_.rate > 0 && connections / config_.rate > kLongestPacedWaitSeconds) {
    throw ConfigError(
        "rate", fmt::format("must be 0 (closed loop) or at least {}/{:.0f}: one "
                            "message a day on each of the {} connections",
                            config_.connections, kLongestPacedWaitSeconds, config_.connections));
  }
  if (config_.connect_rate > 0 && connections / config_.connect_rate > kLongestPacedWaitSeconds) {
    throw ConfigError(
        "connect_rate",
        fmt::format("must be 0 (unpaced) or at least {}/{:.0f}: all {} "
                    "connections started within a day",
                    config_.connections, kLongestPacedWaitSeconds, config_.connections));
  }
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
  Run run(config_, progress);
  bool stopped = connect_all(run);

  const auto traffic_start = Clock::now();
  run.result.connect_phase_s = seconds_between(run.start, traffic_start);
  const TrafficWindow window{
      traffic_start, traffic_start + to_clock_duration(config_.warmup_s),
      traffic_start + to_clock_duration(config_.warmup_s + config_.duration_s)};
  auto traffic_end = traffic_start;
  if (!stopped && run.state.connections_established.load() > 0) {
    stopped = run_traffic(run, window);
    traffic_end = std::min(Clock::now(), window.end);
    if (run.result.all_connections_lost) {
      // Measured up to the moment the last connection was lost, not to when that was noticed.
      const Clock::time_point lost{Clock::duration{run.state.last_connection_lost.load()}};
      traffic_end = std::clamp(lost, traffic_start, traffic_end);
    }
  }
  run.result.stopped_early = stopped;
  run.result.open_loop = config_.rate > 0;

  finish(run);
  collect_totals(run);
  run.result.measured_s = std::max(0.0, seconds_between(window.warmup_end, traffic_end));
  return std::move(run.result);
}

// Connects everyone, paced by connect_rate. Bounded: every attempt ends by its own timeout, and
// the phase by its deadline.
bool TcpLoad::connect_all(Run& run) {
  const double pacing_s = config_.connect_rate > 0
                              ? static_cast<double>(config_.connections) / config_.connect_rate
                              : 0;
  const auto deadline = run.start + to_clock_duration(pacing_s + config_.connect_timeout_s + 1.0);
  const auto poll = std::chrono::milliseconds(config_.connect_rate > 0 ? 1 : 10);
  std::uint64_t posted = 0;
  bool stopped = false;
  while (!stopped) {
    const auto now = Clock::now();
    const auto allowed = connects_allowed(config_, seconds_between(run.start, now));
    for (; posted < allowed; ++posted) {
      run.workers[posted % run.workers.size()]->post_connect(posted);
    }
    if (run.state.connects_resolved.load() >= config_.connections || now >= deadline) break;
    if (run.ticker.take(now)) take_sample(run, now);
    stopped = wait_until(std::min(run.ticker.next(), now + poll));
  }
  return stopped;
}

// Traffic until the window ends (bounded) or stop().
bool TcpLoad::run_traffic(Run& run, const TrafficWindow& window) {
  for (auto& worker : run.workers) worker->post_start_traffic(window);
  run.phase = config_.warmup_s > 0 ? Phase::warmup : Phase::measuring;
  bool stopped = false;
  while (!stopped) {
    const auto now = Clock::now();
    if (now >= window.end) break;
    if (run.ticker.take(now)) {
      take_sample(run, now);
      // A sample is labelled with the phase it ended in; the first after the warm-up measures.
      if (Clock::now() >= window.warmup_end) run.phase = Phase::measuring;
      continue;
    }
    // Connections are never reopened: once every one is gone (and none is still connecting),
    // the rest would be dead time.
    if (run.state.connections_up.load() == 0 &&
        run.state.connects_resolved.load() >= config_.connections) {
      const auto reason = probe_connect(run.state.endpoints,
                                        std::min(config_.connect_timeout_s, kProbeTimeoutSeconds));
      run.result.all_connections_lost = true;
      run.result.lost_reason =
          reason.empty() ? "every connection is gone (the target still accepts connections)"
                         : "every connection is gone; " + reason;
      break;
    }
    stopped = wait_until(std::min({run.ticker.next(), window.end, now + kLostPoll}));
  }
  return stopped;
}

// Closes every connection and joins the workers; then the last, partial second of the series.
void TcpLoad::finish(Run& run) {
  for (auto& worker : run.workers) worker->post_finish();
  for (auto& worker : run.workers) worker->join();
  const auto now = Clock::now();
  if (now > run.last_sample + std::chrono::milliseconds(50)) take_sample(run, now);
}

// The workers' totals into the result; a worker whose thread failed fails the run.
void TcpLoad::collect_totals(Run& run) {
  for (auto& worker : run.workers) {
    if (!worker->failure().empty()) {
      throw std::runtime_error("load thread failed: " + worker->failure());
    }
    run.result.totals += worker->totals().counts;
    run.result.latency.merge(worker->totals().latency);
    run.result.service.merge(worker->totals().service);
  }
  run.result.connections_established = run.state.connections_established.load();
  std::lock_guard lock(run.state.error_mutex);
  run.result.first_connect_error = run.state.first_connect_error;
}

void TcpLoad::take_sample(Run& run, Clock::time_point now) {
  SecondSample sample;
  LatencyHistogram latency;
  for (auto& worker : run.workers) {
    auto interval = worker->take_interval();
    sample.counts += interval.counts;
    latency.merge(interval.latency);
  }
  sample.elapsed_s = seconds_between(run.start, now);
  sample.interval_s = seconds_between(run.last_sample, now);
  sample.phase = run.phase;
  sample.p50_ns = latency.value_at_quantile(0.50);
  sample.p99_ns = latency.value_at_quantile(0.99);
  sample.max_ns = latency.max();
  sample.connections_up = run.state.connections_up.load();
  sample.connect_failures_total = run.state.connect_failures.load();
  run.last_sample = now;
  run.result.series.push_back(sample);
  if (run.progress) run.progress(sample);
}

}  // namespace load
