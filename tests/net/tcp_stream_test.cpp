#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "net/error.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "tests/support/bytes.h"

using namespace std::chrono_literals;
using net::IoStatus;
using testing_support::bytes_of;

namespace {

struct ConnectedPair {
  net::TcpListener listener{net::parse_address("127.0.0.1"), 0};
  asio::io_context io;
  net::TcpStream client = net::TcpStream::connect(io, listener.local_endpoint(), 5s);
  net::TcpStream server = std::move(*listener.accept().stream);
};

}  // namespace

TEST_CASE("a listener on port 0 reports its real port, and a second bind on it fails clearly") {
  net::TcpListener listener(net::parse_address("127.0.0.1"), 0);
  const auto port = listener.local_endpoint().port();
  CHECK(port != 0);
  try {
    net::TcpListener second(net::parse_address("127.0.0.1"), port);
    FAIL("second bind succeeded");
  } catch (const net::Error& error) {
    CHECK(std::string(error.what()).starts_with("bind 127.0.0.1:" + std::to_string(port) + ": "));
    CHECK(error.code() == std::errc::address_in_use);
  }
}

TEST_CASE("stop() wakes a thread blocked in accept()") {
  net::TcpListener listener(net::parse_address("127.0.0.1"), 0);
  auto accepting = std::async(std::launch::async, [&] { return listener.accept().stopped(); });
  CHECK(accepting.wait_for(100ms) == std::future_status::timeout);  // really blocked
  listener.stop();
  REQUIRE(accepting.wait_for(10s) == std::future_status::ready);
  CHECK(accepting.get());
  CHECK(listener.accept().stopped());  // and stays stopped
}

TEST_CASE("the dual-stack default accepts IPv4 and IPv6 peers") {
  net::TcpListener listener(net::parse_address("::"), 0);
  asio::io_context io;
  const auto port = listener.local_endpoint().port();
  auto v4 = net::TcpStream::connect(io, {"127.0.0.1", port}, 5s);
  auto accepted_v4 = listener.accept();
  REQUIRE(accepted_v4.stream);
  CHECK(net::format_address(accepted_v4.stream->remote_endpoint().address()) == "127.0.0.1");
  auto v6 = net::TcpStream::connect(io, {"::1", port}, 5s);
  auto accepted_v6 = listener.accept();
  REQUIRE(accepted_v6.stream);
  CHECK(net::format_address(accepted_v6.stream->remote_endpoint().address()) == "::1");
}

TEST_CASE("bytes cross both ways exactly, and half-close gives eof after the data") {
  ConnectedPair pair;
  auto all_values = std::vector<std::byte>(256);
  for (int i = 0; i < 256; ++i) all_values[static_cast<std::size_t>(i)] = std::byte(i);
  CHECK(pair.client.write_all(all_values).status == IoStatus::ok);
  pair.client.shutdown_send();
  std::vector<std::byte> got(256);
  const auto read = pair.server.read_exact(got);
  CHECK(read.status == IoStatus::ok);
  CHECK(got == all_values);
  std::byte extra[1];
  CHECK(pair.server.read_some(extra).status == IoStatus::eof);
  // The other direction still works after the client's half-close.
  CHECK(pair.server.write_all(bytes_of("back")).status == IoStatus::ok);
  std::vector<std::byte> back(4);
  CHECK(pair.client.read_exact(back).status == IoStatus::ok);
  CHECK(back == bytes_of("back"));
}

TEST_CASE("a read with a timeout returns timed_out when nothing arrives") {
  ConnectedPair pair;
  pair.server.set_timeout(50ms);
  std::byte buffer[16];
  const auto started = std::chrono::steady_clock::now();
  CHECK(pair.server.read_some(buffer).status == IoStatus::timed_out);
  CHECK(std::chrono::steady_clock::now() - started >= 40ms);
}

TEST_CASE("a write to a peer that never reads times out instead of blocking forever") {
  ConnectedPair pair;
  pair.server.set_timeout(100ms);
  std::vector<std::byte> big(64 * 1024 * 1024);  // far more than both socket buffers hold
  const auto written = pair.server.write_all(big);
  CHECK(written.status == IoStatus::timed_out);
  CHECK(written.bytes > 0);
  CHECK(written.bytes < big.size());
}

TEST_CASE("shutdown_both() from another thread wakes a blocked read with eof") {
  ConnectedPair pair;
  auto reading = std::async(std::launch::async, [&] {
    std::byte buffer[16];
    return pair.server.read_some(buffer).status;
  });
  CHECK(reading.wait_for(100ms) == std::future_status::timeout);
  pair.server.shutdown_both();
  REQUIRE(reading.wait_for(10s) == std::future_status::ready);
  CHECK(reading.get() == IoStatus::eof);
}

TEST_CASE("connect reports refusal and timeouts as net::Error naming the endpoint") {
  std::uint16_t closed_port = 0;
  {
    net::TcpListener listener(net::parse_address("127.0.0.1"), 0);
    closed_port = listener.local_endpoint().port();
  }
  asio::io_context io;
  try {
    net::TcpStream::connect(io, {"127.0.0.1", closed_port}, 5s);
    FAIL("connect succeeded");
  } catch (const net::Error& error) {
    CHECK(error.code() == std::errc::connection_refused);
    CHECK(std::string(error.what()).find("127.0.0.1:" + std::to_string(closed_port)) !=
          std::string::npos);
  }
}

TEST_CASE("a reset peer shows as failed with the cause, not as an exception") {
  ConnectedPair pair;
  pair.client.close(/*reset=*/true);
  std::byte buffer[16];
  const auto read = pair.server.read_some(buffer);
  CHECK(read.status == IoStatus::failed);
  CHECK(read.error == std::errc::connection_reset);
}
