#include "chat/terminal.h"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <system_error>

#include <fmt/format.h>

namespace chat {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

}  // namespace

Terminal::Terminal(int fd, std::string program, std::FILE* errors, std::size_t max_queued_bytes)
    : fd_(fd), program_(std::move(program)), errors_(errors), max_bytes_(max_queued_bytes) {
  // Regular files never block; pipes, FIFOs, sockets and terminals take a page when writable.
  struct stat status {};
  const bool regular = ::fstat(fd_, &status) == 0 && S_ISREG(status.st_mode);
  max_write_ = regular ? 1024 * 1024 : 4096;
  writer_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

Terminal::~Terminal() { stop(); }

void Terminal::dropped(std::size_t lines) {
  not_shown_ += lines;
  if (!drop_reported_.exchange(true)) {
    fmt::print(errors_,
               "{}: the terminal (stdout) is too slow; not showing some messages (they are in "
               "the chat log)\n",
               program_);
    std::fflush(errors_);
  }
}

void Terminal::show(std::string&& lines_text, std::size_t lines, bool may_drop) {
  const std::size_t size = lines_text.size();
  {
    std::unique_lock lock(bytes_mutex_);
    // One chunk always fits into an empty queue, however large.
    const auto fits = [&] { return closed_ || bytes_ == 0 || bytes_ + size <= max_bytes_; };
    if (may_drop) {
      if (!fits()) {
        lock.unlock();
        dropped(lines);
        return;
      }
    } else {
      bytes_freed_.wait(lock, fits);
    }
    if (closed_) {
      not_shown_ += lines;  // the program is stopping: nothing to tell
      return;
    }
    bytes_ += size;
  }
  if (!queue_.put(Chunk{std::move(lines_text), lines})) not_shown_ += lines;
}

bool Terminal::say(std::string_view line) {
  std::string text(line);
  text += '\n';
  show(std::move(text), 1, false);
  return !queue_.closed();
}

std::string Terminal::spare_buffer() { return spares_.try_get().value_or(std::string()); }

void Terminal::close() {
  {
    std::lock_guard lock(bytes_mutex_);
    closed_ = true;
  }
  bytes_freed_.notify_all();
  queue_.close();
}

void Terminal::stop(std::chrono::milliseconds grace) {
  close();
  if (!writer_.joinable()) return;
  give_up_at_.store(now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(grace).count());
  writer_.request_stop();
  writer_.join();
}

bool Terminal::write_all(std::string_view text, const std::stop_token& stop) {
  while (!text.empty() && !broken_) {
    pollfd ready{fd_, POLLOUT, 0};
    const int polled = ::poll(&ready, 1, 100);
    if (polled < 0 && errno != EINTR) {
      broken_ = true;
      break;
    }
    if (polled <= 0) {
      // A reader that takes nothing: keep waiting while the chat runs (it may be paused), but
      // not past the grace period once the program is stopping.
      if (stop.stop_requested() && now_ns() >= give_up_at_.load()) return false;
      continue;
    }
    const std::size_t size = std::min(text.size(), max_write_);
    const ssize_t wrote = ::write(fd_, text.data(), size);
    if (wrote < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      fmt::print(errors_, "{}: stdout: {}; not showing messages any more\n", program_,
                 std::error_code(errno, std::system_category()).message());
      std::fflush(errors_);
      broken_ = true;
      break;
    }
    text.remove_prefix(static_cast<std::size_t>(wrote));
  }
  return !broken_;
}

void Terminal::run(std::stop_token stop) {
  try {
    bool giving_up = false;
    while (auto chunk = queue_.get()) {
      if (giving_up || broken_ || !write_all(chunk->text, stop)) {
        giving_up = true;
        not_shown_ += chunk->lines;  // counted, not reported: the summary says it
      }
      {
        std::lock_guard lock(bytes_mutex_);
        bytes_ -= chunk->text.size();
      }
      bytes_freed_.notify_all();
      if (chunk->text.capacity() <= 1024 * 1024) {  // reuse, unless it would pin much memory
        chunk->text.clear();
        spares_.try_put(std::move(chunk->text));
      }
    }
  } catch (const std::exception& error) {
    fmt::print(errors_, "{}: terminal writer stopped: {}\n", program_, error.what());
    close();
  }
}

}  // namespace chat
