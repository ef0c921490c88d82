#include "tests/support/text_files.h"

#include <cstdint>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/deadline.h"

namespace testing_support {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool wait_for_file_line(const std::string& path, const std::string& needle,
                        std::chrono::milliseconds timeout) {
  constexpr auto kInterval = std::chrono::milliseconds(20);
  const auto deadline = Clock::now() + timeout;
  const std::int64_t most_reads = timeout / kInterval + 1;  // bounded in count as well as time
  for (std::int64_t reads = 0; reads < most_reads; ++reads) {
    for (const auto& line : read_lines(path)) {
      if (line.find(needle) != std::string::npos) return true;
    }
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(kInterval);
  }
  return false;
}

}  // namespace testing_support
