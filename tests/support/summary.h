#pragma once

// The "summary: key=value ..." line each of the suite's programs prints as it ends (echo-server
// and udp-chat on stderr, loadgen on stdout), read back so tests check counts, not prose.
//
// Threading: a plain value; concurrent const use is safe.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace testing_support {

class Summary {
 public:
  // The key=value pairs of the last line of `output` that starts with "summary:"; a Summary that
  // was not found() when there is no such line.
  static Summary parse(std::string_view output);

  bool found() const { return found_; }
  bool has(const std::string& key) const { return values_.contains(key); }
  // A whole-number value, or -1 when the line or the key is missing or the value is not a whole
  // number: a check for a count never passes on a line that was not printed.
  std::int64_t count(const std::string& key) const;
  // Any numeric value ("12.5" as well as "12"), or nullopt when missing or not a number.
  std::optional<double> number(const std::string& key) const;

 private:
  bool found_ = false;
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace testing_support
