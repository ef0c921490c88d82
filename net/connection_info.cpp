#include "net/connection_info.h"

#include <fmt/format.h>

namespace net {

std::string failure_reason(std::error_code error) {
  if (error == std::errc::connection_reset) return "reset";
  return fmt::format("error: {}", error.message());
}

}  // namespace net
