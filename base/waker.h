#pragma once

namespace base {

// A level-triggered wake-up for threads that wait in poll(): an eventfd that wake() makes readable
// for good. A thread blocked in poll() on a socket or a terminal cannot be woken by a flag or a
// condition variable, and closing the descriptor under it is a data race (see docs/design.md,
// "Stopping a blocked thread"); polling this descriptor alongside is the one way used here.
//
// Once woken it stays woken: every later poll() returns at once, so a stop can never be missed
// by a thread that was not waiting yet.
//
// Threading: wake() from any thread and from a signal handler (async-signal-safe); woken() and
// fd() from any thread. Throws std::system_error from the constructor if no eventfd is available.
class Waker {
 public:
  Waker();
  ~Waker();
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;

  void wake() noexcept;
  bool woken() const noexcept;
  int fd() const noexcept { return fd_; }

 private:
  int fd_;
};

// Waits until `fd` has any of `events` (POLLIN, POLLOUT) or `waker` is woken, at most `timeout_ms`
// (-1: no limit). Returns the fd's revents, or 0 when woken or timed out (check waker.woken()),
// or POLLERR when poll() itself fails. EINTR is retried. Threading: any thread.
short wait_for(int fd, short events, const Waker& waker, int timeout_ms = -1);

}  // namespace base
