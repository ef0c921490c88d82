// Fuzzes the parsers of everything a user types as an address: ports, HOST:PORT, literal
// addresses and CIDR blocks. Each must either succeed or throw net::InvalidArgument (never
// crash, hang or throw anything else), and what succeeds must print and parse back the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/cidr.h"
#include "net/endpoint.h"
#include "net/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    const auto port = net::parse_port(input, net::PortZero::allowed);
    if (net::parse_port(std::to_string(port), net::PortZero::allowed) != port) std::abort();
  } catch (const net::InvalidArgument&) {
  }
  try {
    const auto where = net::parse_host_port(input);
    if (where.host.empty() || where.port == 0) std::abort();
    // A literal host round-trips through the printer and the parser.
    try {
      const auto address = net::parse_address(where.host);
      const auto again = net::parse_host_port(net::format_endpoint(address, where.port));
      if (net::parse_address(again.host) != net::unmapped(address) || again.port != where.port) {
        std::abort();
      }
    } catch (const net::InvalidArgument&) {
      // A name, not a literal: fine.
    }
  } catch (const net::InvalidArgument&) {
  }
  try {
    const auto block = net::Cidr::parse(input);
    const auto again = net::Cidr::parse(block.to_string());
    if (again.to_string() != block.to_string()) std::abort();
  } catch (const net::InvalidArgument&) {
  }
  return 0;
}
