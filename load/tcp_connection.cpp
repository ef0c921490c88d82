#include "load/tcp_connection.h"

#include <algorithm>
#include <span>

#include <asio/connect.hpp>

#include "load/tcp_worker.h"

namespace load {

namespace {

// A write gathers at most this much of due messages into one send() (but always one message).
constexpr std::size_t kWriteBatchBytes = 256 * 1024;
// Each connection reads into a buffer of its own (an async read owns its buffer until it
// completes) of message size x depth, within these bounds; all of them together stay under
// kReadBudgetBytes, so 10,000 connections of 16 KiB messages cost 6.4 KiB each, not 160 MB.
constexpr std::size_t kMinReadBytes = 64;
constexpr std::size_t kMaxReadBytes = 256 * 1024;
constexpr std::size_t kReadBudgetBytes = 64 * 1024 * 1024;

std::uint64_t nanoseconds(Clock::duration d) {
  return d.count() < 0 ? 0
                       : static_cast<std::uint64_t>(
                             std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

ConnectionFailure classify(const std::error_code& error) {
  if (error == asio::error::connection_reset || error == asio::error::broken_pipe ||
      error == asio::error::connection_aborted) {
    return ConnectionFailure::reset;
  }
  return ConnectionFailure::other;
}

}  // namespace

TcpConnection::TcpConnection(TcpWorker& worker, std::uint64_t id)
    : worker_(worker),
      id_(id),
      socket_(worker.io()),
      timer_(worker.io()),
      checker_(id, worker.config().message_size) {}

void TcpConnection::connect() {
  state_ = State::connecting;
  timer_.expires_after(to_clock_duration(worker_.config().connect_timeout_s));
  // Closing the socket makes the connect complete with operation_aborted: a timeout.
  timer_.async_wait([this](const std::error_code& error) {
    if (!error && state_ == State::connecting) socket_.close();
  });
  asio::async_connect(socket_, worker_.state().endpoints,
                      [this](const std::error_code& error, const asio::ip::tcp::endpoint&) {
                        on_connected(error);
                      });
}

void TcpConnection::on_connected(const std::error_code& error) {
  if (state_ != State::connecting) return;  // closed by close() at the run's end
  timer_.cancel();
  worker_.state().connects_resolved.fetch_add(1);
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
    worker_.record_connect_failure(cause, worker_.state().endpoints.front());
    std::error_code ignored;
    socket_.close(ignored);
    worker_.connect_finished();
    return;
  }
  state_ = State::up;
  worker_.state().connections_up.fetch_add(1);
  worker_.state().connections_established.fetch_add(1);
  const auto& config = worker_.config();
  const std::size_t budget = std::max(kMinReadBytes, kReadBudgetBytes / config.connections);
  read_buffer_.resize(std::clamp(config.message_size * config.depth, kMinReadBytes,
                                 std::min(budget, kMaxReadBytes)));
  read_more();
  if (worker_.traffic_started()) start_traffic();
  worker_.connect_finished();  // may start more connections: keep last
}

void TcpConnection::start_traffic() {
  if (state_ != State::up || traffic_) return;
  traffic_ = true;
  const auto& config = worker_.config();
  const auto now = Clock::now();
  if (now >= worker_.window().end) return;
  if (config.rate <= 0) {
    for (std::size_t i = 0; i < config.depth; ++i) due_.push_back({now, now});
    queued_ += config.depth;
    kick_write();
    return;
  }
  // Open loop: this connection's share of the rate, its phase spread over one interval so the
  // connections do not all send at the same instant.
  const double per_connection = config.rate / static_cast<double>(config.connections);
  interval_ = to_clock_duration(1.0 / per_connection);
  const double phase =
      static_cast<double>(id_ % config.connections) / static_cast<double>(config.connections);
  next_due_ = std::max(worker_.window().start, now - interval_) +
              std::chrono::duration_cast<Clock::duration>(interval_ * phase);
  schedule_next();
}

void TcpConnection::schedule_next() {
  if (next_due_ >= worker_.window().end) return;
  timer_.expires_at(next_due_);
  timer_.async_wait([this](const std::error_code& error) {
    if (error || state_ != State::up) return;
    const auto now = Clock::now();
    const auto end = worker_.window().end;
    // Everything due by now, even if this thread was late: the lateness is the server's latency
    // as a user would see it (or ours; the series shows which).
    while (next_due_ <= now && next_due_ < end) {
      due_.push_back({next_due_, next_due_});
      ++queued_;
      next_due_ += interval_;
    }
    kick_write();
    if (state_ == State::up) schedule_next();
  });
}

void TcpConnection::kick_write() {
  if (state_ != State::up || waiting_write_) return;
  const std::size_t size = worker_.config().message_size;
  const bool open_loop = worker_.config().rate > 0;
  // Messages are generated into the thread's buffer and sent straight away; only an unsent tail
  // (socket buffer full) is copied into the connection's own pending_ buffer.
  while (queued_ > 0) {
    const std::size_t n =
        std::max<std::size_t>(1, std::min<std::uint64_t>(queued_, kWriteBatchBytes / size));
    auto& buffer = worker_.write_buffer();
    buffer.resize(n * size);
    for (std::size_t i = 0; i < n; ++i) {
      fill_payload(id_, next_sequence_ + i, 0, std::span(buffer.data() + i * size, size));
    }
    if (open_loop) {  // the queued messages are the last queued_ of due_
      const auto now = Clock::now();
      const auto first = due_.size() - queued_;
      for (std::size_t i = 0; i < n; ++i) due_[first + i].sent = now;
    }
    next_sequence_ += n;
    queued_ -= n;
    bytes_issued_ += buffer.size();
    std::error_code error;
    const std::size_t written = socket_.write_some(asio::buffer(buffer), error);
    if (error && error != asio::error::would_block) {
      fail(classify(error));
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

void TcpConnection::wait_writable() {
  waiting_write_ = true;
  socket_.async_wait(asio::ip::tcp::socket::wait_write, [this](const std::error_code& error) {
    if (state_ != State::up) return;
    if (error) {
      fail(classify(error));
      return;
    }
    std::error_code write_error;
    const std::size_t written = socket_.write_some(
        asio::buffer(pending_.data() + pending_offset_, pending_.size() - pending_offset_),
        write_error);
    if (write_error && write_error != asio::error::would_block) {
      fail(classify(write_error));
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
void TcpConnection::read_more() {
  socket_.async_read_some(asio::buffer(read_buffer_),
                          [this](const std::error_code& error, std::size_t n) {
                            if (state_ != State::up) return;
                            if (error == asio::error::eof) {
                              fail(ConnectionFailure::short_echo);
                            } else if (error) {
                              fail(classify(error));
                            } else {
                              on_data(n);
                              if (state_ == State::up) read_more();
                            }
                          });
}

void TcpConnection::on_data(std::size_t n) {
  const bool closed_loop = worker_.config().rate <= 0;
  bytes_read_ += n;
  if (bytes_read_ > bytes_issued_) {  // more came back than was ever sent
    fail(ConnectionFailure::mismatch_extra);
    return;
  }
  const auto now = Clock::now();
  auto& latencies = worker_.latency_scratch();
  auto& service = worker_.service_scratch();
  latencies.clear();
  service.clear();
  std::uint64_t bad = 0;
  checker_.feed(std::span<const std::byte>(read_buffer_.data(), n), [&](bool intact) {
    // bytes_read_ <= bytes_issued_ guarantees a due time for every completed message.
    const auto message = due_.front();
    due_.pop_front();
    if (intact) {
      latencies.push_back(nanoseconds(now - message.due));
      if (!closed_loop) service.push_back(nanoseconds(now - message.sent));
    } else {
      ++bad;
    }
    if (closed_loop && now < worker_.window().end && !worker_.finished()) {
      due_.push_back({now, now});
      ++queued_;
    }
  });
  if (!latencies.empty() || bad > 0) worker_.record_messages(now, latencies, service, bad);
  kick_write();
}

void TcpConnection::fail(ConnectionFailure kind) {
  if (state_ != State::up) return;
  // A peer that closes with nothing outstanding did not cut an echo short.
  if (kind == ConnectionFailure::short_echo && due_.empty() && checker_.offset() == 0)
    kind = ConnectionFailure::other;
  state_ = State::dead;
  worker_.state().last_connection_lost.store(Clock::now().time_since_epoch().count());
  worker_.state().connections_up.fetch_sub(1);
  worker_.record_failure(kind);
  std::error_code ignored;
  timer_.cancel();
  socket_.close(ignored);
}

void TcpConnection::close() noexcept {
  if (state_ == State::up) worker_.state().connections_up.fetch_sub(1);
  if (state_ == State::connecting) worker_.state().connects_resolved.fetch_add(1);
  state_ = State::dead;
  std::error_code ignored;
  timer_.cancel();
  socket_.close(ignored);
}

}  // namespace load
