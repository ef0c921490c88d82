#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

namespace net {

// A host (name or literal address, without brackets) and a port, as a user typed them.
// Threading: a plain value.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

enum class PortZero { rejected, allowed };

// Parses a decimal port. Throws InvalidArgument with a one-line reason ("bad port 'abc': ...").
// Port 0 ("any port") is accepted only where binding, with PortZero::allowed. Thread-safe.
std::uint16_t parse_port(std::string_view text, PortZero zero = PortZero::rejected);

// Parses "host:port", "[v6]:port" or "v4:port". A bare IPv6 address with a port must be bracketed
// ("[::1]:7890"), since "::1:7890" is itself a valid address. Throws InvalidArgument. Thread-safe.
HostPort parse_host_port(std::string_view text, PortZero zero = PortZero::rejected);

// Parses a literal IPv4 or IPv6 address (brackets allowed around IPv6). Throws InvalidArgument.
// Thread-safe.
asio::ip::address parse_address(std::string_view text);

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it stands for; any other
// address unchanged. Sockets bound to :: see IPv4 peers mapped, people expect a.b.c.d. Thread-safe.
asio::ip::address unmapped(const asio::ip::address& address);

// "127.0.0.1", "::1" (IPv4-mapped shown as IPv4, never bracketed). Thread-safe.
std::string format_address(const asio::ip::address& address);

// "127.0.0.1:7890" or "[::1]:7890" (IPv4-mapped shown as IPv4). Thread-safe.
std::string format_endpoint(const asio::ip::address& address, std::uint16_t port);

template <typename Endpoint>
std::string format_endpoint(const Endpoint& endpoint) {
  return format_endpoint(endpoint.address(), endpoint.port());
}

// Resolves a host (name or literal) to the endpoints to try, in resolver order. Throws net::Error
// ("resolve nosuch.example: Host not found ...") when nothing resolves. Blocking; thread-safe.
std::vector<asio::ip::tcp::endpoint> resolve_tcp(const HostPort& where);
std::vector<asio::ip::udp::endpoint> resolve_udp(const HostPort& where);

}  // namespace net
