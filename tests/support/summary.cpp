#include "tests/support/summary.h"

#include <algorithm>
#include <charconv>
#include <sstream>

namespace testing_support {

Summary Summary::parse(std::string_view output) {
  constexpr std::string_view kPrefix = "summary:";
  Summary summary;
  std::string_view last;
  for (std::size_t start = 0; start < output.size();) {
    const auto end = std::min(output.find('\n', start), output.size());
    const auto line = output.substr(start, end - start);
    if (line.starts_with(kPrefix)) {
      last = line;
      summary.found_ = true;
    }
    start = end + 1;
  }
  if (!summary.found_) return summary;
  std::istringstream words{std::string(last.substr(kPrefix.size()))};
  for (std::string word; words >> word;) {
    const auto equals = word.find('=');
    if (equals == std::string::npos) continue;
    summary.values_[word.substr(0, equals)] = word.substr(equals + 1);
  }
  return summary;
}

std::int64_t Summary::count(const std::string& key) const {
  const auto found = values_.find(key);
  if (found == values_.end()) return -1;
  const std::string& text = found->second;
  std::int64_t value = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) return -1;
  return value;
}

std::optional<double> Summary::number(const std::string& key) const {
  const auto found = values_.find(key);
  if (found == values_.end()) return std::nullopt;
  const std::string& text = found->second;
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace testing_support
