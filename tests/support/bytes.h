#pragma once

// Test payloads as bytes: made from text, shown as text, or pseudo-random but reproducible, so a
// failing run can be repeated with the very same bytes.
//
// Threading: free functions on values; safe from any thread.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace testing_support {

using Bytes = std::vector<std::byte>;

// `size` pseudo-random bytes; the same arguments give the same bytes. The first 256 (when size
// allows) are every byte value once, shuffled, so each payload holds NUL, 0xFF, CR, LF, ESC and
// the rest.
Bytes random_bytes(std::size_t size, std::uint64_t seed);
Bytes bytes_of(std::string_view text);
std::string text_of(std::span<const std::byte> bytes);

}  // namespace testing_support
