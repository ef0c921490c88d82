#pragma once

// Waiting for something another thread or process will do, without asserting how long it takes:
// tests poll a condition up to a generous limit instead of sleeping a guessed time.
//
// Threading: eventually() calls `condition` on the caller's thread only; the condition itself must
// be safe to run while the threads or processes it watches go on.

#include <chrono>
#include <cstdint>
#include <thread>

namespace testing_support {

// Polls `condition` every 10 ms until it holds or `limit` passes; true if it held. The number of
// polls is bounded too (by the most that fit in `limit`), not only the time.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  constexpr auto kInterval = std::chrono::milliseconds(10);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const std::int64_t most_polls = limit / kInterval + 1;
  for (std::int64_t polls = 0; !condition(); ++polls) {
    if (polls >= most_polls || std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(kInterval);
  }
  return true;
}

}  // namespace testing_support
