#include "net/cidr.h"

#include <charconv>

#include <fmt/format.h>

#include "net/endpoint.h"
#include "net/error.h"

namespace net {

namespace {

constexpr int kMappedPrefixBits = 96;  // ::ffff:0:0/96 holds the IPv4-mapped addresses

asio::ip::address_v6::bytes_type as_v6_bytes(const asio::ip::address& address) {
  if (address.is_v4()) {
    return asio::ip::make_address_v6(asio::ip::v4_mapped, address.to_v4()).to_bytes();
  }
  return address.to_v6().to_bytes();
}

bool same_prefix(const asio::ip::address_v6::bytes_type& a,
                 const asio::ip::address_v6::bytes_type& b, int bits) {
  for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
    const unsigned mask = bits >= 8 ? 0xffU : (0xffU << (8 - bits)) & 0xffU;
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

}  // namespace

Cidr::Cidr(asio::ip::address_v6::bytes_type network, int prefix_bits, bool written_as_v4)
    : network_(network), prefix_bits_(prefix_bits), written_as_v4_(written_as_v4) {}

Cidr Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  const auto address_text = text.substr(0, slash);
  asio::ip::address address;
  try {
    address = parse_address(address_text);
  } catch (const InvalidArgument&) {
    throw InvalidArgument(fmt::format("bad CIDR '{}': expected ADDRESS or ADDRESS/BITS, such as "
                                      "10.0.0.0/8 or ::1", address_text.substr(0, 64)));
  }
  const int max_bits = address.is_v4() ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    const auto bits_text = text.substr(slash + 1);
    const auto* end = bits_text.data() + bits_text.size();
    const auto [stop, error] = std::from_chars(bits_text.data(), end, bits);
    if (bits_text.empty() || error != std::errc() || stop != end || bits < 0 || bits > max_bits) {
      throw InvalidArgument(fmt::format("bad CIDR prefix '/{}': expected 0 to {} bits",
                                        bits_text.substr(0, 16), max_bits));
    }
  }
  const bool v4 = address.is_v4();
  return Cidr(as_v6_bytes(address), v4 ? kMappedPrefixBits + bits : bits, v4);
}

bool Cidr::contains(const asio::ip::address& address) const {
  return same_prefix(network_, as_v6_bytes(unmapped(address)), prefix_bits_);
}

std::string Cidr::to_string() const {
  const auto network = asio::ip::address_v6(network_);
  if (written_as_v4_) {
    return fmt::format("{}/{}", format_address(network), prefix_bits_ - kMappedPrefixBits);
  }
  return fmt::format("{}/{}", network.to_string(), prefix_bits_);
}

}  // namespace net
