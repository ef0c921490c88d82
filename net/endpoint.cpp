#include "net/endpoint.h"

#include <charconv>

#include <fmt/format.h>
#include <asio/io_context.hpp>

#include "base/text_escape.h"
#include "net/error.h"

namespace net {

namespace {

using base::quote_for_error;

template <typename Protocol>
std::vector<typename Protocol::endpoint> resolve(const HostPort& where) {
  asio::io_context io;
  typename Protocol::resolver resolver(io);
  std::error_code error;
  auto results = resolver.resolve(where.host, std::to_string(where.port),
                                  Protocol::resolver::numeric_service, error);
  if (error) throw_error(error, "resolve", where.host);
  std::vector<typename Protocol::endpoint> endpoints;
  for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  if (endpoints.empty()) {
    throw_error(std::make_error_code(std::errc::address_not_available), "resolve", where.host);
  }
  return endpoints;
}

}  // namespace

std::uint16_t parse_port(std::string_view text, PortZero zero) {
  const std::string_view range = zero == PortZero::allowed ? "0 to 65535" : "1 to 65535";
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end || value > 65535 ||
      (value == 0 && zero == PortZero::rejected)) {
    throw InvalidArgument(
        fmt::format("bad port {}: expected a number from {}", quote_for_error(text), range));
  }
  return static_cast<std::uint16_t>(value);
}

asio::ip::address parse_address(std::string_view text) {
  std::string_view bare = text;
  if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  std::error_code error;
  auto address = asio::ip::make_address(std::string(bare), error);
  if (error || bare.empty()) {
    throw InvalidArgument(fmt::format(
        "bad address {}: expected IPv4 like 127.0.0.1 or IPv6 like ::1", quote_for_error(text)));
  }
  return address;
}

HostPort parse_host_port(std::string_view text, PortZero zero) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw InvalidArgument(
          fmt::format("bad endpoint {}: expected [IPv6]:PORT", quote_for_error(text)));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    parse_address(host);  // brackets promise a literal IPv6 address: check it now
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      throw InvalidArgument(
          fmt::format("bad endpoint {}: expected HOST:PORT", quote_for_error(text)));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      throw InvalidArgument(
          fmt::format("bad endpoint {}: put IPv6 addresses in brackets, as in [::1]:7890",
                      quote_for_error(text)));
    }
  }
  if (host.empty()) {
    throw InvalidArgument(fmt::format("bad endpoint {}: the host is empty", quote_for_error(text)));
  }
  for (char c : host) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) {
      throw InvalidArgument(
          fmt::format("bad endpoint {}: the host has a space or control "
                      "character",
                      quote_for_error(text)));
    }
  }
  return HostPort{std::string(host), parse_port(port, zero)};
}

asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::string format_address(const asio::ip::address& address) {
  return unmapped(address).to_string();
}

std::string format_endpoint(const asio::ip::address& address, std::uint16_t port) {
  const auto shown = unmapped(address);
  if (shown.is_v6()) return fmt::format("[{}]:{}", shown.to_string(), port);
  return fmt::format("{}:{}", shown.to_string(), port);
}

std::vector<asio::ip::tcp::endpoint> resolve_tcp(const HostPort& where) {
  return resolve<asio::ip::tcp>(where);
}

std::vector<asio::ip::udp::endpoint> resolve_udp(const HostPort& where) {
  return resolve<asio::ip::udp>(where);
}

}  // namespace net
