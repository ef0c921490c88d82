#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace net {

// A socket-layer operation failed. what() names the action and the endpoint, then the cause:
// "bind [::]:7890: Address already in use".
// Threading: an immutable value; safe to copy and read from any thread.
class Error : public std::system_error {
 public:
  Error(std::error_code code, const std::string& context) : std::system_error(code, context) {}
};

// Text that should have been an address, port, endpoint or CIDR was not. what() is one line
// meant for a person: "bad port 'abc': expected a number from 1 to 65535".
// Threading: an immutable value.
class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Asio reports OS errors in its own "asio.system" category, which does not compare equal to
// std::errc values; this gives the same errno in std::system_category, where it does.
std::error_code to_system_error(std::error_code code);

// Throws net::Error for `code`, with context "<action> <where>" (or just "<action>").
[[noreturn]] void throw_error(std::error_code code, std::string_view action,
                              std::string_view where = {});

// Same, taking the cause from errno.
[[noreturn]] void throw_errno(std::string_view action, std::string_view where = {});

}  // namespace net
