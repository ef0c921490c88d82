#include "net/signal_waiter.h"

#include <csignal>

namespace net {

SignalWaiter::SignalWaiter() : signals_(io_, SIGINT, SIGTERM) {
  std::signal(SIGPIPE, SIG_IGN);
  signals_.async_wait([this](const std::error_code& error, int number) {
    if (!error) received_.store(number);
  });
}

int SignalWaiter::wait() {
  io_.run();  // returns after the one handler ran, or at once after cancel()
  return received_.load();
}

void SignalWaiter::cancel() noexcept { io_.stop(); }

}  // namespace net
