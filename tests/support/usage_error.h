#pragma once

// The suite's command-line contract for a usage error (a bad option or value): exit code 2,
// nothing on stdout, and exactly one line on stderr that starts with "PROGRAM: " and ends with
// "(try --help)", whatever the argument held (control bytes included).
//
// Threading: makes doctest checks, so it runs on the test's thread only.

#include <string>
#include <vector>

namespace testing_support {

// Runs the suite's `program` (as named in SUITE_BIN_DIR) with `args`, stdin closed and bounded in
// time, and checks the contract above.
void check_usage_error(const std::string& program, const std::vector<std::string>& args);

}  // namespace testing_support
