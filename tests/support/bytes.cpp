#include "tests/support/bytes.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>
#include <random>

namespace testing_support {

Bytes random_bytes(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  Bytes out(size);
  std::array<unsigned, 256> values;
  std::iota(values.begin(), values.end(), 0U);
  std::shuffle(values.begin(), values.end(), generator);
  std::size_t i = 0;
  for (; i < size && i < values.size(); ++i) out[i] = static_cast<std::byte>(values[i]);
  for (; i < size; ++i) out[i] = static_cast<std::byte>(generator() & 0xffU);
  return out;
}

Bytes bytes_of(std::string_view text) {
  Bytes out(text.size());
  if (!text.empty()) std::memcpy(out.data(), text.data(), text.size());
  return out;
}

std::string text_of(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace testing_support
