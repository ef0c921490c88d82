#include "tests/support/cpu_load.h"

#include <cstdint>

namespace testing_support {

CpuLoad::CpuLoad(unsigned threads, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (unsigned i = 0; i < threads; ++i) {
    spinners_.emplace_back([deadline](std::stop_token stop) {
      volatile std::uint64_t work = 0;  // volatile: the loop must not be optimised away
      while (!stop.stop_requested() && std::chrono::steady_clock::now() < deadline) {
        for (int step = 0; step < 100'000; ++step) work = work + 1;
      }
    });
  }
}

}  // namespace testing_support
