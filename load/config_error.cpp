#include "load/config_error.h"

#include <utility>

namespace load {

ConfigError::ConfigError(std::string field, std::string requirement)
    : std::invalid_argument(field + " " + requirement),
      field_(std::move(field)),
      requirement_(std::move(requirement)) {}

}  // namespace load
