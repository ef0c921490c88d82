#pragma once

#include <chrono>

namespace load {

// The run's one beat: the progress line and the per-second series both come from its ticks.
// Ticks fall on whole periods after `start` (start + 1 s, start + 2 s, ...). A tick taken late
// (a busy machine) is taken once, and the ticks missed meanwhile are skipped: the beat neither
// drifts nor bunches up, and the series' interval_s shows how long the late interval was.
//
// Threading: a plain value; use from one thread (the run's).
class Ticker {
 public:
  using Clock = std::chrono::steady_clock;

  // `period` > 0.
  explicit Ticker(Clock::time_point start, Clock::duration period = std::chrono::seconds(1));

  // When the next tick is due.
  Clock::time_point next() const noexcept { return next_; }
  // True when a tick is due at `now`; then the next one is the first on the beat after `now`.
  bool take(Clock::time_point now) noexcept;

 private:
  Clock::time_point next_;
  Clock::duration period_;
};

}  // namespace load
