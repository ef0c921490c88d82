#pragma once

#include <atomic>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

namespace net {

// Lets a main thread wait for SIGINT or SIGTERM (a clean stop) while worker threads run, and
// makes SIGPIPE harmless for the whole process (DESIGN.md trap 5).
//
// Threading: construct in main before starting threads; wait() from one thread; cancel() from
// any thread, to end a wait() because the program finished by itself (/quit, EOF, ...).
class SignalWaiter {
 public:
  SignalWaiter();
  SignalWaiter(const SignalWaiter&) = delete;
  SignalWaiter& operator=(const SignalWaiter&) = delete;

  // Returns the signal number, or 0 after cancel() (also when cancel() came first).
  int wait();
  void cancel() noexcept;

 private:
  asio::io_context io_;
  asio::signal_set signals_;
  std::atomic<int> received_{0};
};

}  // namespace net
