#include "base/diagnostics.h"

#include "base/descriptor_writer.h"

namespace base {

Diagnostics::Diagnostics(int fd, std::string program, Limits limits)
    : fd_(fd), program_(std::move(program)), limits_(limits) {
  writer_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

Diagnostics::~Diagnostics() {
  stop();
}

void Diagnostics::count_dropped(std::uint64_t lines) noexcept {
  dropped_ += lines;
}

void Diagnostics::line(std::string_view text) noexcept {
  try {
    std::string owned;
    owned.reserve(text.size() + 1);
    owned.append(text);
    owned += '\n';
    {
      std::lock_guard lock(mutex_);
      if (stopped_ || lines_.size() >= limits_.max_lines ||
          (bytes_ + owned.size() > limits_.max_bytes && !lines_.empty())) {
        ++dropped_;
        return;
      }
      bytes_ += owned.size();
      lines_.push_back(std::move(owned));
    }
    changed_.notify_all();
  } catch (...) {
    count_dropped(1);  // out of memory: the line is lost, and counted
  }
}

void Diagnostics::error(std::string_view text) noexcept {
  try {
    std::string owned;
    owned.reserve(program_.size() + 2 + text.size());
    owned.append(program_).append(": ").append(text);
    line(owned);
  } catch (...) {
    count_dropped(1);
  }
}

bool Diagnostics::flush(std::chrono::milliseconds timeout) noexcept {
  try {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return lines_.empty() && !writing_; });
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
  bool giving_up = false;
  for (;;) {
    std::size_t taken = 0;
    try {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, stop, [&] { return !lines_.empty(); });
      if (lines_.empty()) return;  // stopped, and everything was written
      text.clear();
      for (auto& line : lines_) text += line;
      taken = lines_.size();
      lines_.clear();
      bytes_ = 0;
      writing_ = true;
    } catch (...) {
      return;  // out of memory joining lines: nothing sensible is left to do
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
          lines_.push_back(fmt::format("{}: {} diagnostic line{} dropped: stderr did not keep up\n",
                                       program_, lost, lost == 1 ? "" : "s"));
        } catch (...) {
        }
      }
    }
    changed_.notify_all();
  }
}

}  // namespace base
