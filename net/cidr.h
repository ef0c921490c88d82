#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <asio/ip/address.hpp>

namespace net {

// An address block such as 10.0.0.0/8, ::1/128 or a bare address (a block of one). IPv4 blocks
// also match IPv4-mapped IPv6 peers (what a socket bound to :: sees), so "--allow 127.0.0.1"
// works on the dual-stack default.
// Threading: an immutable value; contains() is safe from any thread.
class Cidr {
 public:
  // Throws InvalidArgument ("bad CIDR '10.0.0.0/33': ...") for anything else.
  static Cidr parse(std::string_view text);

  bool contains(const asio::ip::address& address) const;
  std::string to_string() const;

 private:
  Cidr(asio::ip::address_v6::bytes_type network, int prefix_bits, bool written_as_v4);

  asio::ip::address_v6::bytes_type network_{};  // IPv4 blocks are stored IPv4-mapped
  int prefix_bits_ = 0;                          // over the 128-bit mapped form
  bool written_as_v4_ = false;
};

}  // namespace net
