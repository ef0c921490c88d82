#include "net/socket_activation.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <string_view>

namespace net {

namespace {

// A plain decimal number (no sign, no spaces), or -1.
long parse_count(const char* text) {
  if (text == nullptr) return -1;
  const std::string_view view(text);
  long value = 0;
  const auto [end, error] = std::from_chars(view.data(), view.data() + view.size(), value);
  if (view.empty() || error != std::errc() || end != view.data() + view.size()) return -1;
  return value;
}

}  // namespace

std::vector<int> take_listen_fds() {
  const long pid = parse_count(std::getenv("LISTEN_PID"));
  const long count = parse_count(std::getenv("LISTEN_FDS"));
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  std::vector<int> fds;
  if (pid != static_cast<long>(::getpid()) || count <= 0 || count > 4096) return fds;
  for (int fd = kListenFdsStart; fd < kListenFdsStart + count; ++fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) continue;  // not open after all: nothing to take
    ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    fds.push_back(fd);
  }
  return fds;
}

}  // namespace net
