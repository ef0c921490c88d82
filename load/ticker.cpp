#include "load/ticker.h"

namespace load {

Ticker::Ticker(Clock::time_point start, Clock::duration period)
    : next_(start + period), period_(period) {}

bool Ticker::take(Clock::time_point now) noexcept {
  if (now < next_) return false;
  // Whole periods only, so the beat stays on start + k x period however late this tick came.
  const auto late_periods = (now - next_) / period_;
  next_ += (late_periods + 1) * period_;
  return true;
}

}  // namespace load
