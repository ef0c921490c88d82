#include "chat/terminal.h"

#include <exception>

#include "base/descriptor_writer.h"

namespace chat {

Terminal::Terminal(int fd, base::Diagnostics& diagnostics, std::size_t max_queued_bytes)
    : fd_(fd), diagnostics_(diagnostics), max_bytes_(max_queued_bytes) {
  writer_ = std::jthread([this] { run(); });
}

Terminal::~Terminal() {
  stop();
}

void Terminal::dropped(std::size_t lines) {
  not_shown_ += lines;
  if (!drop_reported_.exchange(true)) {
    diagnostics_.error(
        "the terminal (stdout) is too slow; not showing some messages (they are in the chat log)");
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
  give_up_.start(grace);
  writer_.join();
}

void Terminal::run() {
  try {
    base::DescriptorWriter out(fd_);
    // A reader that takes nothing: keep waiting while the chat runs (it may be paused), but not
    // past the grace period once the program is stopping.
    const auto give_up = [this] { return give_up_.expired(); };
    bool writing = true;  // false once the descriptor failed or was given up on
    while (auto chunk = queue_.get()) {
      if (writing) {
        const auto write = [&] {
          const auto outcome = out.write_all(chunk->text, give_up);
          if (outcome == base::DescriptorWriter::Outcome::failed) {
            diagnostics_.print_error("stdout: {}; not showing messages any more",
                                     out.error().message());
          }
          writing = outcome == base::DescriptorWriter::Outcome::written;
        };
        // A line editor on the same screen hides its line around the chunk and redraws it.
        if (auto* guest = guest_.load()) {
          guest->write_above(write);
        } else {
          write();
        }
      }
      if (!writing) not_shown_ += chunk->lines;  // counted, not reported: the summary says it
      {
        std::lock_guard lock(bytes_mutex_);
        bytes_ -= chunk->text.size();
      }
      bytes_freed_.notify_all();
      spares_.give(std::move(chunk->text));
    }
  } catch (const std::exception& error) {
    diagnostics_.print_error("terminal writer stopped: {}", error.what());
    close();
  }
}

}  // namespace chat
