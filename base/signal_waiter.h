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
// the suite retries. A second stop signal means the user does not want to wait for the clean
// stop (a stalled log, a slow lookup): the process then says so in one line on stderr and ends at
// once with exit code 128 + the signal (130 for a second Ctrl-C).
//
// Threading: construct first thing in main (before any thread starts, so that no thread ever runs
// with SIGPIPE's default action), once per process; wait() from one thread;
// cancel() from any thread, to end a wait() because the program finished by itself (/quit, EOF).
// The destructor restores the default dispositions.
class SignalWaiter {
 public:
  explicit SignalWaiter(const char* program);
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

  // Remembers the terminal mode `terminal_fd` has now, so that the abrupt end by a second stop
  // signal puts it back: a line editor leaves the terminal in its own mode while it waits for
  // keys, and a shell left in that mode echoes nothing. tcsetattr() is async-signal-safe. Call
  // before changing the mode; the last call wins. Any thread; takes effect for every later
  // second signal, also without a SignalWaiter alive.
  static void restore_terminal_on_abrupt_exit(int terminal_fd) noexcept;

 private:
  Waker waker_;
};

}  // namespace base
