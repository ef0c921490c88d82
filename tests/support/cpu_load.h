#pragma once

// Busy threads that keep the machine's cores occupied while a test runs, so that the threads of
// the program under test are preempted at arbitrary points, as on a loaded machine. Orderings
// that only hold when every thread runs at once show up as failures here instead of in the field.
//
// Threading: construct and destroy on one thread (the test's); the spinning threads touch nothing
// but their own counters.

#include <chrono>
#include <thread>
#include <vector>

namespace testing_support {

class CpuLoad {
 public:
  // Starts `threads` threads that spin until the CpuLoad is destroyed, and at most for `limit`
  // (a test that hangs elsewhere does not keep the cores busy for ever).
  explicit CpuLoad(unsigned threads = 2, std::chrono::seconds limit = std::chrono::seconds(300));
  // Stops and joins the threads.
  ~CpuLoad() = default;
  CpuLoad(const CpuLoad&) = delete;
  CpuLoad& operator=(const CpuLoad&) = delete;

 private:
  std::vector<std::jthread> spinners_;
};

}  // namespace testing_support
