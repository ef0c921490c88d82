#pragma once

// Failures seen on a test's helper threads (clients, workers), reported on the test's own thread:
// doctest's assertions are meant for the thread that runs the test case.
//
// Threading: add() from any thread; report() from the test's thread once the helpers are joined.

#include <mutex>
#include <string>
#include <vector>

namespace testing_support {

class Failures {
 public:
  void add(std::string what);
  // One failed check per failure added, then a check that there were none.
  void report();

 private:
  std::mutex mutex_;
  std::vector<std::string> list_;
};

}  // namespace testing_support
