#pragma once

// Deadlines for the helpers' bounded waits: every wait in a test ends by a point in time, and
// poll(2) and friends want what is left of it in whole milliseconds.
//
// Threading: pure functions; safe from any thread.

#include <chrono>

namespace testing_support {

using Clock = std::chrono::steady_clock;

// Milliseconds left until `deadline`, rounded up (so a wait never ends just short of it); 0 once
// it has passed.
inline int milliseconds_left(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace testing_support
