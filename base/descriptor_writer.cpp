#include "base/descriptor_writer.h"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace base {

namespace {

// How often a writer waiting for a stalled reader asks whether to give up.
constexpr int kPollPeriodMs = 100;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void GiveUpDeadline::start(std::chrono::milliseconds grace) noexcept {
  at_ns_.store(now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(grace).count());
}

bool GiveUpDeadline::expired() const noexcept {
  return now_ns() >= at_ns_.load();
}

DescriptorWriter::DescriptorWriter(int fd) : fd_(fd) {
  // Regular files never block; pipes, FIFOs, sockets and terminals take a page when writable.
  struct stat status {};
  const bool regular = ::fstat(fd_, &status) == 0 && S_ISREG(status.st_mode);
  max_write_ = regular ? 1024 * 1024 : 4096;
}

DescriptorWriter::Outcome DescriptorWriter::write_all(std::string_view text,
                                                      const std::function<bool()>& give_up) {
  written_ = 0;
  while (!text.empty()) {
    pollfd ready{fd_, POLLOUT, 0};
    const int polled = ::poll(&ready, 1, kPollPeriodMs);
    if (polled < 0 && errno != EINTR) {
      error_ = std::error_code(errno, std::system_category());
      return Outcome::failed;
    }
    if (polled <= 0) {
      if (give_up && give_up()) return Outcome::gave_up;
      continue;
    }
    const ssize_t wrote = ::write(fd_, text.data(), std::min(text.size(), max_write_));
    if (wrote < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      error_ = std::error_code(errno, std::system_category());
      return Outcome::failed;
    }
    if (wrote == 0) {  // a file that takes nothing without an error would be retried for ever
      error_ = std::error_code(EIO, std::system_category());
      return Outcome::failed;
    }
    text.remove_prefix(static_cast<std::size_t>(wrote));
    written_ += static_cast<std::size_t>(wrote);
  }
  return Outcome::written;
}

}  // namespace base
