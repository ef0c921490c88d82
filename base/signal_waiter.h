#pragma once

#include <functional>
#include <thread>

#include "base/waker.h"

namespace base {

// Lets the main thread wait for SIGINT, SIGTERM or SIGHUP (all three mean "stop cleanly": closing
// the terminal window sends SIGHUP, and a chat must not lose its log for that) while worker
// threads run, and makes SIGPIPE harmless for the whole process (a write to a closed socket or
// pipe is an error to report, never a reason to die).
//
// The handlers only record the signal and wake a Waker, so any thread may take the signal; system
// calls interrupted by it are restarted (SA_RESTART) or return EINTR, which every poll() loop in
// the suite retries.
//
// Threading: construct in main, once per process, before the work starts; wait() from one thread;
// cancel() from any thread, to end a wait() because the program finished by itself (/quit, EOF).
// The destructor restores the default dispositions.
class SignalWaiter {
 public:
  SignalWaiter();
  ~SignalWaiter();
  SignalWaiter(const SignalWaiter&) = delete;
  SignalWaiter& operator=(const SignalWaiter&) = delete;

  // Returns the signal number, or 0 after cancel() (also when cancel() came first).
  int wait();
  void cancel() noexcept;

  // The first stop signal received so far, or 0. Any thread.
  int received() const noexcept;

  // A thread that waits and, when a stop signal arrives, calls `action` (say, server.stop()) on
  // itself. Destroying the returned thread ends the wait (it cancels) and joins, signal or not,
  // so a main that finishes by itself, or throws, never hangs on it. Owning thread.
  std::jthread call_on_signal(std::function<void()> action);

 private:
  Waker waker_;
};

}  // namespace base
