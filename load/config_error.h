#pragma once

#include <stdexcept>
#include <string>

namespace load {

// A configuration that cannot run. It names the field that is wrong, as the config struct spells
// it ("message_size"), and what that field must be, so a program can word the problem in its own
// terms: loadgen names the command-line option that set the field. what() is
// "<field> <requirement>", e.g. "message_size must be at least 1 byte".
//
// Threading: a plain value.
class ConfigError : public std::invalid_argument {
 public:
  ConfigError(std::string field, std::string requirement);

  const std::string& field() const noexcept { return field_; }
  const std::string& requirement() const noexcept { return requirement_; }

 private:
  std::string field_;
  std::string requirement_;
};

}  // namespace load
