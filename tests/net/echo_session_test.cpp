#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <vector>

#include "net/echo_session.h"
#include "net/tcp_listener.h"

using namespace std::chrono_literals;
using net::IoStatus;

namespace {

// Echoes `message` through echo_session(stream) (the adaptive buffer) and returns what came back.
std::vector<std::byte> echo_through_session(const std::vector<std::byte>& message) {
  net::TcpListener listener(net::parse_address("127.0.0.1"), 0);
  asio::io_context io;
  auto client = net::TcpStream::connect(io, listener.local_endpoint(), 5s);
  auto server = std::move(*listener.accept().stream);
  auto session = std::async(std::launch::async, [&] { return net::echo_session(server); });
  // Write from another thread: a large message would otherwise fill both buffers and block.
  auto writer = std::async(std::launch::async, [&] {
    const auto written = client.write_all(message);
    client.shutdown_send();
    return written.status;
  });
  std::vector<std::byte> back(message.size());
  client.set_timeout(30s);
  const auto read = client.read_exact(back);
  CHECK(read.status == IoStatus::ok);
  CHECK(writer.get() == IoStatus::ok);
  std::byte extra[1];
  CHECK(client.read_some(extra).status == IoStatus::eof);  // half-close passed on after the data
  const auto end = session.get();
  CHECK(end.bytes == message.size());
  CHECK(end.reason == "closed by peer");
  return back;
}

std::vector<std::byte> pattern(std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = std::byte((i * 131 + i / 256) & 0xff);
  return bytes;
}

}  // namespace

TEST_CASE("the adaptive echo returns every byte around the small/large buffer switch") {
  for (std::size_t size : {std::size_t{1}, net::kSmallReadBytes - 1, net::kSmallReadBytes,
                           net::kSmallReadBytes + 1, net::kLargeReadBytes + 1,
                           std::size_t{3} * 1024 * 1024 + 7}) {
    CAPTURE(size);
    const auto message = pattern(size);
    CHECK(echo_through_session(message) == message);
  }
}
