#include "net/async_echo_engine.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <asio/any_io_executor.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include "net/echo_session.h"
#include "net/endpoint.h"
#include "net/error.h"

namespace net {

// One connection: reads into a small buffer until a read fills it, then a 64 KiB one (as
// net::echo_session does), writes each chunk back, reads again. The write is tried at once on
// the non-blocking socket; only what does not fit in the send buffer goes to async_write, so the
// usual echo costs no trip through the scheduler. Lives as long as an operation or the engine's
// map holds it. Threading: every member function runs on its loop's thread (the socket's
// executor), the only thread that touches it after construction.
class AsyncEchoEngine::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(AsyncEchoEngine& engine, asio::ip::tcp::socket socket, ConnectionInfo info)
      : engine_(engine),
        socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        info_(std::move(info)) {}

  void start() {
    report_event([&] { engine_.events_.opened(info_); });
    std::error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);  // an echo is a reply
    // Synchronous writes then fail with would_block instead of waiting (see on_read).
    std::error_code error;
    socket_.non_blocking(true, error);
    if (error) return finish({echoed_, failure_reason(to_system_error(error)), false});
    if (engine_.limits_.idle_timeout) {
      last_progress_ = Clock::now();
      wait_idle(*engine_.limits_.idle_timeout);
    }
    read();
  }

  // The connection's loop: post start() and shut_down() there.
  asio::any_io_executor executor() { return socket_.get_executor(); }

  // Graceful stop: the pending read sees eof, the session ends as when its peer closes.
  void shut_down() {
    std::error_code ignored;
    if (!done_) socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  }

 private:
  using Clock = std::chrono::steady_clock;

  std::span<std::byte> buffer() {
    if (!large_ && last_read_ == kSmallReadBytes) {
      large_ = std::make_unique_for_overwrite<std::byte[]>(kLargeReadBytes);
    }
    if (large_) return {large_.get(), kLargeReadBytes};
    return small_;
  }

  // async_read_some rather than async_wait and a read: Asio's reactor reads at once only when the
  // socket was seen readable since its last short read, so one message in flight costs one
  // recv() and no EAGAIN, while async_wait re-arms epoll (epoll_ctl) on every wait.
  void read() {
    const auto into = buffer();
    socket_.async_read_some(
        asio::buffer(into.data(), into.size()),
        [self = shared_from_this(), into](std::error_code error, std::size_t bytes) {
          self->on_read(error, into.first(bytes));
        });
  }

  void on_read(std::error_code error, std::span<std::byte> chunk) {
    if (done_) return;
    last_read_ = chunk.size();
    if (error == asio::error::eof) {
      // Everything read has been written back already: now the peer may see our eof too.
      std::error_code ignored;
      socket_.shutdown(asio::socket_base::shutdown_send, ignored);
      return finish({echoed_, "closed by peer", false});
    }
    if (error) return finish({echoed_, failure_reason(to_system_error(error)), false});
    last_progress_ = Clock::now();
    if (engine_.options_.on_data) report_event([&] { engine_.options_.on_data(info_, chunk); });
    // One try on the non-blocking socket: a short write means the send buffer is full, and a
    // second try would only see would_block.
    const auto sent = socket_.write_some(asio::buffer(chunk.data(), chunk.size()), error);
    if (error && error != asio::error::would_block && error != asio::error::try_again) {
      return finish({echoed_, failure_reason(to_system_error(error)), false});
    }
    if (error) {
      write_rest(chunk);
      return;
    }
    echoed_ += sent;
    if (sent < chunk.size()) {
      write_rest(chunk.subspan(sent));
      return;
    }
    // Not read() at once: the peer has not even seen this echo yet, so a read now would almost
    // always meet an empty socket (a wasted recv() per message). Queued behind the handlers
    // that are ready, the read starts when the next message has more likely arrived.
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  // The part the send buffer could not take; the chunk stays in our buffer, which the next read
  // reuses only after this write completes.
  void write_rest(std::span<std::byte> rest) {
    asio::async_write(socket_, asio::buffer(rest.data(), rest.size()),
                      [self = shared_from_this()](std::error_code error, std::size_t bytes) {
                        self->on_written(error, bytes);
                      });
  }

  void on_written(std::error_code error, std::size_t bytes) {
    echoed_ += bytes;
    if (done_) return;
    if (error) return finish({echoed_, failure_reason(to_system_error(error)), false});
    last_progress_ = Clock::now();
    read();
  }

  // One timer per connection, re-armed from the last progress rather than on every chunk: a
  // peer that neither sends nor reads our echo (a write pending) is idle both ways alike.
  void wait_idle(Clock::duration idle) {
    timer_.expires_at(last_progress_ + idle);
    timer_.async_wait([self = shared_from_this(), idle](std::error_code error) {
      if (error || self->done_) return;
      if (Clock::now() - self->last_progress_ >= idle) {
        return self->finish({self->echoed_, "idle timeout", true});
      }
      self->wait_idle(idle);
    });
  }

  void finish(SessionEnd end) {
    done_ = true;
    std::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);  // pending operations end with operation_aborted and see done_
    report_event([&] { engine_.events_.closed(info_, end); });
    engine_.session_ended(info_.id, end);
  }

  AsyncEchoEngine& engine_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  const ConnectionInfo info_;
  std::byte small_[kSmallReadBytes];
  std::unique_ptr<std::byte[]> large_;
  std::size_t last_read_ = 0;
  std::uint64_t echoed_ = 0;
  Clock::time_point last_progress_;
  bool done_ = false;
};

// Concurrency hint 1: the loop is run by one thread, so Asio skips the hand-offs it needs for
// several; its locks stay, because accept() opens sockets on other loops and stop() posts.
AsyncEchoEngine::Loop::Loop() : io(1), work(asio::make_work_guard(io)) {
  // A timer makes the context open its reactor (epoll, eventfd, timerfd) now rather than at the
  // loop's first connection: the server's descriptors are then the same from start to stop.
  asio::steady_timer open_reactor(io);
}

std::vector<std::unique_ptr<AsyncEchoEngine::Loop>> AsyncEchoEngine::make_loops(
    std::size_t threads) {
  std::vector<std::unique_ptr<AsyncEchoEngine::Loop>> loops;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, threads); ++i) {
    loops.push_back(std::make_unique<AsyncEchoEngine::Loop>());
  }
  return loops;
}

AsyncEchoEngine::AsyncEchoEngine(TcpListener& listener, ServerLimits limits, ServerEvents& events,
                                 EngineOptions options)
    : listener_(listener),
      limits_(std::move(limits)),
      events_(events),
      options_(std::move(options)),
      loops_(make_loops(options_.threads)),
      acceptor_(loops_.front()->io),
      pause_timer_(loops_.front()->io),
      pauses_(limits_.accept_pause) {
  // The listener keeps its descriptor (and closes it); the acceptor owns a duplicate, so both
  // may close theirs in any order.
  const int fd = ::fcntl(listener_.native_handle(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) throw_errno("listening socket", format_endpoint(listener_.local_endpoint()));
  std::error_code error;
  acceptor_.assign(listener_.local_endpoint().protocol(), fd, error);
  if (error) {
    ::close(fd);
    throw_error(error, "listening socket", format_endpoint(listener_.local_endpoint()));
  }
}

AsyncEchoEngine::~AsyncEchoEngine() {
  stop();
}

void AsyncEchoEngine::run() {
  asio::post(loops_.front()->io, [this] { accept(); });
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 1; i < loops_.size(); ++i) {
      threads.emplace_back([this, &loop = *loops_[i]] { run_loop(loop); });
    }
    if (options_.on_running) options_.on_running();
    run_loop(*loops_.front());
  }  // joins: each loop's run() returns once stop() released it and its sessions are gone
  std::lock_guard lock(mutex_);
  if (failure_) std::rethrow_exception(failure_);
}

void AsyncEchoEngine::run_loop(Loop& loop) noexcept {
  try {
    loop.io.run();
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      if (!failure_) failure_ = std::current_exception();
    }
    stop();
    // Keep serving what is left so every connection ends and the others can return.
    run_loop(loop);
  }
}

void AsyncEchoEngine::stop() noexcept {
  if (stopping_.exchange(true)) return;
  listener_.stop();
  try {
    asio::post(loops_.front()->io, [this] {
      std::error_code ignored;
      acceptor_.close(ignored);
      pause_timer_.cancel();
    });
    {
      std::lock_guard lock(mutex_);
      for (const auto& entry : sessions_) {
        // A copy, not a structured binding: clang 14 cannot capture those.
        auto session = entry.second;
        asio::post(session->executor(), [session] { session->shut_down(); });
      }
    }
    // After the shut-downs: each loop's run() then returns once its last session has ended. A
    // session admitted before the lock above posted its start() before it too (see admit()).
    for (auto& loop : loops_) {
      asio::post(loop->io, [&loop = *loop] { loop.work.reset(); });
    }
  } catch (...) {
    // Out of memory for a handler: the sessions end by themselves (peer or idle timeout).
  }
}

ServerStats AsyncEchoEngine::stats() const {
  std::lock_guard lock(mutex_);
  auto snapshot = stats_;
  snapshot.active = sessions_.size();
  return snapshot;
}

void AsyncEchoEngine::accept() {
  if (stopping_.load()) return;
  // The new socket belongs to its loop from the start; the next connection goes to the next loop.
  auto& loop = *loops_[next_loop_];
  next_loop_ = (next_loop_ + 1) % loops_.size();
  acceptor_.async_accept(loop.io, [this](std::error_code error, asio::ip::tcp::socket socket) {
    on_accept(error, std::move(socket));
  });
}

void AsyncEchoEngine::on_accept(std::error_code error, asio::ip::tcp::socket socket) {
  if (stopping_.load()) return;  // the socket, if any, closes here
  if (error) {
    error = to_system_error(error);
    switch (classify_accept_error(error)) {
      case AcceptFailure::retry_now:
        return accept();
      case AcceptFailure::out_of_resources:
      case AcceptFailure::unexpected:
        // Wait instead of spinning: the pending connection would fail the same way at once.
        pauses_.paused(error, events_);
        pause_timer_.expires_after(limits_.accept_pause);
        pause_timer_.async_wait([this](std::error_code) { accept(); });
        return;
      case AcceptFailure::listener_broken:
        break;
    }
    try {
      throw_error(error, "accept on", format_endpoint(listener_.local_endpoint()));
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!failure_) failure_ = std::current_exception();
    }
    return stop();
  }
  pauses_.accepted(events_);
  admit(std::move(socket));
  accept();
}

void AsyncEchoEngine::admit(asio::ip::tcp::socket socket) {
  std::error_code error;
  const auto peer = socket.remote_endpoint(error);
  if (error) return;  // the peer left already; nothing to serve or report
  auto refuse = [&](Refusal why) {
    socket.close(error);
    report_event([&] { events_.refused(peer, why); });
  };
  std::unique_lock lock(mutex_);
  if (const auto refusal =
          admission_refusal(limits_, peer.address(), stopping_.load(), sessions_.size(), stats_)) {
    lock.unlock();
    return refuse(*refusal);
  }
  const auto id = next_id_++;
  auto session = std::make_shared<Session>(*this, std::move(socket), ConnectionInfo{id, peer});
  sessions_.emplace(id, session);
  count_served(stats_, sessions_.size());
  // Under the lock, so that stop() posts the shut-down and the loop's release after this.
  asio::post(session->executor(), [session] { session->start(); });
}

void AsyncEchoEngine::session_ended(std::uint64_t id, const SessionEnd& end) {
  std::shared_ptr<Session> finished;  // released outside the lock
  std::lock_guard lock(mutex_);
  stats_.bytes += end.bytes;
  if (end.timed_out) ++stats_.timed_out;
  auto node = sessions_.extract(id);
  if (!node.empty()) finished = std::move(node.mapped());
}

}  // namespace net
