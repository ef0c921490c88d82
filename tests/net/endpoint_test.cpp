#include <doctest/doctest.h>

#include "net/endpoint.h"
#include "net/error.h"

using net::HostPort;
using net::InvalidArgument;
using net::PortZero;

TEST_CASE("parse_port accepts 1..65535 and rejects everything else with a reason") {
  CHECK(net::parse_port("1") == 1);
  CHECK(net::parse_port("7890") == 7890);
  CHECK(net::parse_port("65535") == 65535);
  CHECK(net::parse_port("0", PortZero::allowed) == 0);
  for (const char* bad :
       {"", "0", "65536", "-1", "abc", "12a", " 80", "80 ", "+80", "99999999999"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(net::parse_port(bad), InvalidArgument);
  }
  CHECK_THROWS_WITH(net::parse_port("abc"), "bad port 'abc': expected a number from 1 to 65535");
}

TEST_CASE("parse_host_port splits names, IPv4 and bracketed IPv6") {
  CHECK(net::parse_host_port("127.0.0.1:7890") == HostPort{"127.0.0.1", 7890});
  CHECK(net::parse_host_port("localhost:80") == HostPort{"localhost", 80});
  CHECK(net::parse_host_port("[::1]:7890") == HostPort{"::1", 7890});
  CHECK(net::parse_host_port("[fe80::1]:1") == HostPort{"fe80::1", 1});
  CHECK(net::parse_host_port("host:0", PortZero::allowed) == HostPort{"host", 0});
}

TEST_CASE("parse_host_port rejects bad input with one clear line") {
  for (const char* bad : {"", ":", "7890", ":7890", "host:", "host:abc", "host:65536",
                          "::1:7890", "[::1]", "[::1]7890", "[nonsense]:1", "[]:1", "a b:1",
                          "host:0"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(net::parse_host_port(bad), InvalidArgument);
  }
  CHECK_THROWS_WITH(net::parse_host_port("::1:7890"),
                    "bad endpoint '::1:7890': put IPv6 addresses in brackets, as in [::1]:7890");
  // Control bytes in the input are shown escaped, so the message stays one line.
  CHECK_THROWS_WITH(net::parse_host_port("a\nb"), "bad endpoint 'a\\nb': expected HOST:PORT");
}

TEST_CASE("parse_address takes literals only") {
  CHECK(net::parse_address("127.0.0.1").is_v4());
  CHECK(net::parse_address("::1").is_v6());
  CHECK(net::parse_address("[::1]").is_v6());
  for (const char* bad : {"", "256.1.1.1", "1.2.3", "localhost", "::g", "[]"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(net::parse_address(bad), InvalidArgument);
  }
}

TEST_CASE("addresses print IPv4-mapped as IPv4 and bracket IPv6 only with a port") {
  const auto mapped = net::parse_address("::ffff:10.1.2.3");
  CHECK(net::format_address(mapped) == "10.1.2.3");
  CHECK(net::unmapped(mapped).is_v4());
  CHECK(net::format_address(net::parse_address("::1")) == "::1");
  CHECK(net::format_endpoint(mapped, 7890) == "10.1.2.3:7890");
  CHECK(net::format_endpoint(net::parse_address("::1"), 7890) == "[::1]:7890");
  CHECK(net::format_endpoint(net::parse_address("127.0.0.1"), 1) == "127.0.0.1:1");
}

TEST_CASE("resolve finds loopback names and reports unknown ones as net::Error") {
  const auto endpoints = net::resolve_tcp({"127.0.0.1", 9});
  REQUIRE(endpoints.size() == 1);
  CHECK(endpoints[0].port() == 9);
  CHECK_FALSE(net::resolve_udp({"localhost", 7890}).empty());
  // .invalid is reserved (RFC 6761): it never resolves, and the resolver fails without network.
  CHECK_THROWS_AS(net::resolve_udp({"no-such-host.invalid", 1}), net::Error);
}
