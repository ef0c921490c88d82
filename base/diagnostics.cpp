#include "base/diagnostics.h"

#include "base/descriptor_writer.h"

namespace base {

Diagnostics::Diagnostics(int fd, std::string program, Limits limits)
    : fd_(fd), program_(std::move(program)), limits_(limits) {
  pending_.reserve(limits_.max_bytes);
  writer_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

Diagnostics::~Diagnostics() {
  stop();
}

void Diagnostics::count_dropped(std::uint64_t lines) noexcept {
  dropped_ += lines;
}

void Diagnostics::append_line(std::string_view prefix, std::string_view text) noexcept {
  const std::size_t size = (prefix.empty() ? 0 : prefix.size() + 2) + text.size() + 1;
  try {
    {
      std::lock_guard lock(mutex_);
      // One line larger than the whole backlog is still taken when the backlog is empty.
      if (stopped_ || pending_lines_ >= limits_.max_lines ||
          (pending_.size() + size > limits_.max_bytes && !pending_.empty())) {
        ++dropped_;
        return;
      }
      if (!prefix.empty()) pending_.append(prefix).append(": ");
      pending_.append(text) += '\n';
      ++pending_lines_;
    }
    changed_.notify_all();
  } catch (...) {
    count_dropped(1);  // out of memory: the line is lost, and counted
  }
}

bool Diagnostics::flush(std::chrono::milliseconds timeout) noexcept {
  try {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return pending_.empty() && !writing_; });
  } catch (...) {
    return false;
  }
}

void Diagnostics::stop(std::chrono::milliseconds grace) noexcept {
  try {
    {
      std::lock_guard lock(mutex_);
      if (stopped_ && !writer_.joinable()) return;
      stopped_ = true;
    }
    give_up_.start(grace);
    if (writer_.joinable()) {
      writer_.request_stop();
      changed_.notify_all();
      writer_.join();
    }
  } catch (...) {
    // join() cannot fail for a joinable thread that is not this one; nothing else throws here.
  }
}

void Diagnostics::run(std::stop_token stop) noexcept {
  DescriptorWriter out(fd_);
  const auto give_up = [this] { return give_up_.expired(); };
  std::string text;
  try {
    text.reserve(limits_.max_bytes);
  } catch (...) {
    // Out of memory at start: the swaps below still work, with buffers that grow as needed.
  }
  bool giving_up = false;
  for (;;) {
    std::size_t taken = 0;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, stop, [&] { return !pending_.empty(); });
      if (pending_.empty()) return;  // stopped, and everything was written
      text.clear();
      text.swap(pending_);  // no copy, no allocation: both buffers keep their capacity
      taken = pending_lines_;
      pending_lines_ = 0;
      writing_ = true;
    }
    bool written = false;
    if (!giving_up) {
      const auto outcome = out.write_all(text, give_up);
      written = outcome == DescriptorWriter::Outcome::written;
      giving_up = outcome == DescriptorWriter::Outcome::gave_up;
    }
    if (!written) count_dropped(taken);
    {
      std::lock_guard lock(mutex_);
      writing_ = false;
      // Said only after a write went through, so a descriptor that keeps failing is not sent
      // a report of its own failure over and over.
      const auto lost = dropped_.load();
      if (written && lost > dropped_reported_) {
        dropped_reported_ = lost;
        try {
          fmt::format_to(std::back_inserter(pending_),
                         "{}: {} diagnostic line{} dropped: stderr did not keep up\n", program_,
                         lost, lost == 1 ? "" : "s");
          ++pending_lines_;
        } catch (...) {
        }
      }
    }
    changed_.notify_all();
  }
}

}  // namespace base
