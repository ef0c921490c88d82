#include "load/tcp_worker.h"

#include <exception>
#include <utility>

#include <fmt/format.h>
#include <asio/post.hpp>

#include "net/endpoint.h"
#include "net/error.h"

namespace load {

namespace {

// Connection attempts in progress at once per thread: a burst of 10,000 SYNs would overflow the
// server's accept backlog and turn into 1 s, 3 s, ... SYN retransmits.
constexpr std::size_t kConnectsInFlight = 64;

}  // namespace

TcpWorker::TcpWorker(TcpRunState& state) : state_(state), guard_(io_.get_executor()) {
  thread_ = std::jthread([this] { run(); });
}

TcpWorker::~TcpWorker() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void TcpWorker::post_connect(std::uint64_t id) {
  asio::post(io_, [this, id] {
    connect_queue_.push_back(id);
    pump_connects();
  });
}

void TcpWorker::post_start_traffic(const TrafficWindow& window) {
  asio::post(io_, [this, window] {
    window_ = window;
    traffic_started_ = true;
    for (auto& connection : connections_) connection->start_traffic();
  });
}

void TcpWorker::post_finish() {
  asio::post(io_, [this] {
    finished_ = true;
    connect_queue_.clear();
    for (auto& connection : connections_) connection->close();
    guard_.reset();
  });
}

void TcpWorker::join() {
  if (thread_.joinable()) thread_.join();
}

TcpInterval TcpWorker::take_interval() {
  std::lock_guard lock(stats_mutex_);
  TcpInterval out = std::move(interval_);
  interval_ = TcpInterval{};
  return out;
}

void TcpWorker::connect_finished() {
  --connecting_;
  pump_connects();
}

void TcpWorker::record_failure(ConnectionFailure kind) {
  std::lock_guard lock(stats_mutex_);
  for (auto* counts : {&interval_.counts, &totals_.counts}) {
    switch (kind) {
      case ConnectionFailure::reset:
        ++counts->resets;
        break;
      case ConnectionFailure::short_echo:
        ++counts->short_echoes;
        break;
      case ConnectionFailure::other:
        ++counts->other_errors;
        break;
      case ConnectionFailure::mismatch_extra:
        ++counts->mismatches;
        break;
    }
  }
}

void TcpWorker::record_connect_failure(const std::error_code& error,
                                       const asio::ip::tcp::endpoint& to) {
  {
    std::lock_guard lock(stats_mutex_);
    ++interval_.counts.connect_failures;
    ++totals_.counts.connect_failures;
  }
  state_.connect_failures.fetch_add(1);
  std::lock_guard lock(state_.error_mutex);
  if (state_.first_connect_error.empty()) {
    state_.first_connect_error = fmt::format("connect {}: {}", net::format_endpoint(to),
                                             net::to_system_error(error).message());
  }
}

void TcpWorker::run() noexcept {
  // A thread never lets an exception escape (std::terminate): keep the reason for the report.
  try {
    io_.run();
  } catch (const std::exception& error) {
    failure_ = error.what();
  } catch (...) {
    failure_ = "unknown exception";
  }
}

void TcpWorker::pump_connects() {
  while (!finished_ && connecting_ < kConnectsInFlight && !connect_queue_.empty()) {
    const std::uint64_t id = connect_queue_.front();
    connect_queue_.pop_front();
    ++connecting_;
    connections_.push_back(std::make_unique<TcpConnection>(*this, id));
    connections_.back()->connect();
  }
}

}  // namespace load
