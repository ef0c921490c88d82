#include <doctest/doctest.h>

#include "net/cidr.h"
#include "net/endpoint.h"
#include "net/error.h"

using net::Cidr;

TEST_CASE("IPv4 blocks match IPv4 peers, mapped or not") {
  const auto loopback = Cidr::parse("127.0.0.0/8");
  CHECK(loopback.contains(net::parse_address("127.0.0.1")));
  CHECK(loopback.contains(net::parse_address("127.255.1.2")));
  CHECK(loopback.contains(net::parse_address("::ffff:127.0.0.1")));
  CHECK_FALSE(loopback.contains(net::parse_address("128.0.0.1")));
  CHECK_FALSE(loopback.contains(net::parse_address("::1")));
  CHECK(loopback.to_string() == "127.0.0.0/8");
}

TEST_CASE("bare addresses are blocks of one, and odd prefixes work bit by bit") {
  const auto one = Cidr::parse("10.0.0.7");
  CHECK(one.contains(net::parse_address("10.0.0.7")));
  CHECK_FALSE(one.contains(net::parse_address("10.0.0.6")));
  const auto odd = Cidr::parse("192.168.4.0/22");
  CHECK(odd.contains(net::parse_address("192.168.7.255")));
  CHECK_FALSE(odd.contains(net::parse_address("192.168.8.0")));
  CHECK(Cidr::parse("0.0.0.0/0").contains(net::parse_address("8.8.8.8")));
  CHECK_FALSE(Cidr::parse("0.0.0.0/0").contains(net::parse_address("2001:db8::1")));
}

TEST_CASE("IPv6 blocks") {
  const auto block = Cidr::parse("2001:db8::/32");
  CHECK(block.contains(net::parse_address("2001:db8:1::5")));
  CHECK_FALSE(block.contains(net::parse_address("2001:db9::1")));
  CHECK(Cidr::parse("::1").contains(net::parse_address("::1")));
  CHECK(Cidr::parse("::/0").contains(net::parse_address("::1")));
  CHECK(block.to_string() == "2001:db8::/32");
}

TEST_CASE("bad CIDR text is one clear error") {
  for (const char* bad : {"", "/8", "10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/-1",
                          "10.0.0.0/8x", "host/8", "10.0.0.0/8/8"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(Cidr::parse(bad), net::InvalidArgument);
  }
  CHECK_THROWS_WITH(Cidr::parse("10.0.0.0/33"), "bad CIDR prefix '/33': expected 0 to 32 bits");
}
