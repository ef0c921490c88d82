#include "net/error.h"

#include <cerrno>

#include <asio/error.hpp>

namespace net {

std::error_code to_system_error(std::error_code code) {
  if (code.category() == asio::error::get_system_category()) {
    return {code.value(), std::system_category()};
  }
  return code;
}

void throw_error(std::error_code code, std::string_view action, std::string_view where) {
  code = to_system_error(code);
  std::string context(action);
  if (!where.empty()) {
    context += ' ';
    context += where;
  }
  throw Error(code, context);
}

void throw_errno(std::string_view action, std::string_view where) {
  throw_error(std::error_code(errno, std::system_category()), action, where);
}

}  // namespace net
