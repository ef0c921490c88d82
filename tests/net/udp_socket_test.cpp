#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <future>
#include <vector>

#include "net/endpoint.h"
#include "net/error.h"
#include "net/udp_socket.h"

using namespace std::chrono_literals;

namespace {

struct Receiver {
  std::vector<std::vector<std::byte>> storage = std::vector<std::vector<std::byte>>(
      8, std::vector<std::byte>(65536));
  std::vector<std::span<std::byte>> buffers;
  std::array<net::Datagram, 8> datagrams;
  Receiver() {
    for (auto& b : storage) buffers.emplace_back(b);
  }
  net::ReceiveResult receive(net::UdpSocket& socket) { return socket.receive(buffers, datagrams); }
};

}  // namespace

TEST_CASE("datagrams arrive whole with their real sender, including 0 and 65,507 bytes") {
  net::UdpSocket a(net::parse_address("127.0.0.1"), 0);
  net::UdpSocket b(net::parse_address("127.0.0.1"), 0);
  std::vector<std::byte> big(65507);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = std::byte(i * 7 % 251);
  REQUIRE_FALSE(a.send_to({}, b.local_endpoint()));
  REQUIRE_FALSE(a.send_to(big, b.local_endpoint()));
  Receiver receiver;
  std::vector<std::vector<std::byte>> received;
  for (int attempt = 0; attempt < 2 && received.size() < 2; ++attempt) {
    const auto got = receiver.receive(b);
    REQUIRE_FALSE(got.stopped);
    for (std::size_t i = 0; i < got.count; ++i) {
      const auto& datagram = receiver.datagrams[i];
      CHECK(datagram.sender.port() == a.local_endpoint().port());
      CHECK_FALSE(datagram.truncated);
      received.emplace_back(receiver.storage[i].begin(),
                            receiver.storage[i].begin() + static_cast<long>(datagram.size));
    }
  }
  REQUIRE(received.size() == 2);
  CHECK(received[0].empty());
  CHECK(received[1] == big);
}

TEST_CASE("stop() wakes a blocked receive, which reports stopped (not an empty datagram)") {
  net::UdpSocket socket(net::parse_address("127.0.0.1"), 0);
  Receiver receiver;
  auto receiving = std::async(std::launch::async, [&] { return receiver.receive(socket); });
  CHECK(receiving.wait_for(100ms) == std::future_status::timeout);
  socket.stop();
  REQUIRE(receiving.wait_for(10s) == std::future_status::ready);
  const auto result = receiving.get();
  CHECK(result.stopped);
  CHECK(result.count == 0);
}

TEST_CASE("a dual-stack socket talks to IPv4 and IPv6 peers and shows IPv4 unmapped") {
  net::UdpSocket dual(net::parse_address("::"), 0);
  net::UdpSocket v4(net::parse_address("127.0.0.1"), 0);
  const std::byte ping[] = {std::byte{'p'}};
  REQUIRE_FALSE(v4.send_to(ping, {net::parse_address("127.0.0.1"), dual.local_endpoint().port()}));
  Receiver receiver;
  const auto got = receiver.receive(dual);
  REQUIRE(got.count == 1);
  CHECK(net::format_address(receiver.datagrams[0].sender.address()) == "127.0.0.1");
  // Replying to the IPv4 form works although the socket is IPv6.
  CHECK_FALSE(dual.send_to(ping, v4.local_endpoint()));
  CHECK(receiver.receive(v4).count == 1);
}

TEST_CASE("a second bind on a UDP port in use fails (no SO_REUSEADDR)") {
  net::UdpSocket first(net::parse_address("127.0.0.1"), 0);
  CHECK_THROWS_AS(net::UdpSocket(net::parse_address("127.0.0.1"), first.local_endpoint().port()),
                  net::Error);
}

TEST_CASE("sending to a closed port is reported, and the socket keeps working") {
  net::UdpSocket socket(net::parse_address("127.0.0.1"), 0);
  std::uint16_t closed_port = 0;
  {
    net::UdpSocket gone(net::parse_address("127.0.0.1"), 0);
    closed_port = gone.local_endpoint().port();
  }
  const std::byte data[] = {std::byte{1}};
  CHECK_FALSE(socket.send_to(data, {net::parse_address("127.0.0.1"), closed_port}));
  // The ICMP error may surface on a later receive as an error (unconnected sockets on Linux
  // do not report it at all); either way the socket still receives what comes next.
  net::UdpSocket peer(net::parse_address("127.0.0.1"), 0);
  CHECK_FALSE(peer.send_to(data, socket.local_endpoint()));
  Receiver receiver;
  auto got = receiver.receive(socket);
  if (got.error) got = receiver.receive(socket);
  CHECK(got.count == 1);
}
