// The waker and the signal waiter: how a blocked thread is told to stop.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "base/signal_waiter.h"
#include "base/waker.h"

TEST_CASE("waker: a wake before the wait is not missed, and stays") {
  base::Waker waker;
  CHECK_FALSE(waker.woken());
  waker.wake();
  CHECK(waker.woken());
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  CHECK(base::wait_for(fds[0], POLLIN, waker) == 0);  // returns at once: woken
  CHECK(base::wait_for(fds[0], POLLIN, waker) == 0);  // and again
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("waker: wakes a thread blocked on a descriptor that never becomes ready") {
  base::Waker waker;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::atomic<short> result{-1};
  std::jthread blocked([&] { result = base::wait_for(fds[0], POLLIN, waker); });
  waker.wake();
  blocked.join();  // would hang without the wake
  CHECK(result == 0);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("waker: a ready descriptor is reported as such") {
  base::Waker waker;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  REQUIRE(::write(fds[1], "x", 1) == 1);
  CHECK((base::wait_for(fds[0], POLLIN, waker) & POLLIN) != 0);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("signal waiter: SIGINT, SIGTERM and SIGHUP each end the wait with their number") {
  for (const int number : {SIGINT, SIGTERM, SIGHUP}) {
    base::SignalWaiter signals("test");
    std::raise(number);  // handled: the test process goes on
    CHECK(signals.wait() == number);
    CHECK(signals.received() == number);
  }
}

TEST_CASE("signal waiter: cancel() ends the wait with 0, and a watching thread is joined") {
  base::SignalWaiter signals("test");
  std::atomic<bool> called{false};
  {
    auto watcher = signals.call_on_signal([&] { called = true; });
  }  // destroyed without a signal: cancelled and joined, never hanging
  CHECK_FALSE(called);
  CHECK(signals.wait() == 0);
}

TEST_CASE("signal waiter: a signal runs the watcher's action on its thread") {
  base::SignalWaiter signals("test");
  std::atomic<bool> called{false};
  {
    auto watcher = signals.call_on_signal([&] { called = true; });
    std::raise(SIGTERM);
  }
  CHECK(called);
}

// A line editor leaves the terminal in its own mode while it waits for keys; the abrupt end by a
// second stop signal must put back the mode the terminal had, or the user's shell echoes nothing.
// A pseudo-terminal stands in for the user's terminal; the child process plays the program.
TEST_CASE("signal waiter: a second stop signal puts the remembered terminal mode back") {
  const int controller = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(controller >= 0);
  REQUIRE(::grantpt(controller) == 0);
  REQUIRE(::unlockpt(controller) == 0);
  const int terminal = ::open(::ptsname(controller), O_RDWR | O_NOCTTY);
  REQUIRE(terminal >= 0);
  termios before{};
  REQUIRE(::tcgetattr(terminal, &before) == 0);
  REQUIRE((before.c_lflag & (ICANON | ECHO)) == (ICANON | ECHO));
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    base::SignalWaiter signals("test");
    base::SignalWaiter::restore_terminal_on_abrupt_exit(terminal);
    termios raw = before;
    ::cfmakeraw(&raw);
    if (::tcsetattr(terminal, TCSANOW, &raw) != 0) ::_exit(90);
    ::raise(SIGTERM);  // the first: a clean stop begins (here nothing stops)
    ::raise(SIGTERM);  // the second: the process ends at once, exit code 143
    ::_exit(91);       // not reached
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + SIGTERM);
  termios after{};
  REQUIRE(::tcgetattr(terminal, &after) == 0);
  CHECK((after.c_lflag & (ICANON | ECHO)) == (ICANON | ECHO));
  ::close(terminal);
  ::close(controller);
}
