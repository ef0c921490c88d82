#include "base/waker.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace base {

Waker::Waker() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (fd_ < 0) throw std::system_error(errno, std::system_category(), "eventfd");
}

Waker::~Waker() {
  ::close(fd_);
}

void Waker::wake() noexcept {
  const std::uint64_t one = 1;
  // Never read back, so the descriptor stays readable. Fails only when the counter is near
  // overflow, which leaves it readable too.
  [[maybe_unused]] const auto written = ::write(fd_, &one, sizeof(one));
}

bool Waker::woken() const noexcept {
  pollfd ready{fd_, POLLIN, 0};
  return ::poll(&ready, 1, 0) > 0;
}

short wait_for(int fd, short events, const Waker& waker, int timeout_ms) {
  pollfd waiting[2] = {{fd, events, 0}, {waker.fd(), POLLIN, 0}};
  for (;;) {
    const int ready = ::poll(waiting, 2, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return POLLERR;  // poll itself failed (out of memory): let the caller give up
    if (ready == 0 || waiting[1].revents != 0) return 0;
    return waiting[0].revents;
  }
}

}  // namespace base
