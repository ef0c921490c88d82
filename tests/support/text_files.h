#pragma once

// Reading files the programs write (logs, results, echoed copies), including while they are still
// being written.
//
// Threading: free functions; safe from any thread (a file being written may be read part-way).

#include <chrono>
#include <string>
#include <vector>

namespace testing_support {

// The whole file, byte for byte ("" if it cannot be opened).
std::string read_file(const std::string& path);
// Its lines, without their '\n' (a last line without one counts too).
std::vector<std::string> read_lines(const std::string& path);
// Waits (bounded) until the file has a line containing `needle`; true if it came.
bool wait_for_file_line(const std::string& path, const std::string& needle,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace testing_support
