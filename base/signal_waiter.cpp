#include "base/signal_waiter.h"

#include <poll.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <stdexcept>

namespace base {

namespace {

constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};

// The handler can reach only what is static; there is one waiter per process.
std::atomic<Waker*> active_waker{nullptr};
std::atomic<int> first_signal{0};
// "PROGRAM: stopped at once by a second signal; what was still queued is lost\n", made before
// the handlers are installed: a handler may only write() what already exists.
char second_signal_line[256];
std::size_t second_signal_length = 0;
// The terminal mode to put back before the abrupt end (restore_terminal_on_abrupt_exit); the fd
// is published last, so the handler never sees it with a half-written mode.
termios saved_terminal_mode{};
std::atomic<int> saved_terminal_fd{-1};

extern "C" void on_stop_signal(int number) {
  int none = 0;
  if (!first_signal.compare_exchange_strong(none, number)) {
    [[maybe_unused]] const auto written =
        ::write(STDERR_FILENO, second_signal_line, second_signal_length);
    if (const int terminal = saved_terminal_fd.load(); terminal >= 0) {
      ::tcsetattr(terminal, TCSANOW, &saved_terminal_mode);
    }
    // The exit_group system call itself, not _exit(): a sanitizer's _exit would first report the
    // threads this exit leaves running (that they are left is the point) and change the code.
    ::syscall(SYS_exit_group, 128 + number);
  }
  if (Waker* waker = active_waker.load()) waker->wake();
}

void set_disposition(int number, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(number, &action, nullptr);
}

}  // namespace

SignalWaiter::SignalWaiter(const char* program) {
  Waker* none = nullptr;
  if (!active_waker.compare_exchange_strong(none, &waker_)) {
    throw std::logic_error("one SignalWaiter per process");
  }
  first_signal.store(0);
  const char* rest = ": stopped at once by a second signal; what was still queued is lost\n";
  const std::size_t name = std::min(std::strlen(program), sizeof(second_signal_line) / 2);
  std::memcpy(second_signal_line, program, name);
  const std::size_t tail = std::min(std::strlen(rest), sizeof(second_signal_line) - name);
  std::memcpy(second_signal_line + name, rest, tail);
  second_signal_length = name + tail;
  set_disposition(SIGPIPE, SIG_IGN);
  for (const int number : kStopSignals) set_disposition(number, on_stop_signal);
}

SignalWaiter::~SignalWaiter() {
  for (const int number : kStopSignals) set_disposition(number, SIG_DFL);
  active_waker.store(nullptr);
}

void SignalWaiter::restore_terminal_on_abrupt_exit(int terminal_fd) noexcept {
  saved_terminal_fd.store(-1);
  if (terminal_fd >= 0 && ::tcgetattr(terminal_fd, &saved_terminal_mode) == 0) {
    saved_terminal_fd.store(terminal_fd);
  }
}

int SignalWaiter::wait() {
  pollfd ready{waker_.fd(), POLLIN, 0};
  while (::poll(&ready, 1, -1) <= 0) {
    // EINTR: our own handler ran on this thread; the waker is readable now, poll again.
  }
  return first_signal.load();
}

void SignalWaiter::cancel() noexcept {
  waker_.wake();
}

int SignalWaiter::received() const noexcept {
  return first_signal.load();
}

std::jthread SignalWaiter::call_on_signal(std::function<void()> action) {
  return std::jthread([this, action = std::move(action)](std::stop_token stop) {
    std::stop_callback end_wait(stop, [this] { cancel(); });
    if (wait() != 0) action();  // also when ending: a signal that came is acted on
  });
}

}  // namespace base
