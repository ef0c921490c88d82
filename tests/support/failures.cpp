#include "tests/support/failures.h"

#include <doctest/doctest.h>

#include <utility>

namespace testing_support {

void Failures::add(std::string what) {
  std::lock_guard lock(mutex_);
  list_.push_back(std::move(what));
}

void Failures::report() {
  std::lock_guard lock(mutex_);
  for (const auto& failure : list_) FAIL_CHECK(failure);
  CHECK(list_.empty());
}

}  // namespace testing_support
