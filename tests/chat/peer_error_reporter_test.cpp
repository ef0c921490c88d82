// The chat's ICMP reports: only destinations it sent to are named, a repeat within a second is
// said once, and at most five lines a second go out, the rest said as one count. Real sockets on
// loopback: a datagram to a closed port brings a real "port unreachable". The clock the reporter
// sees is held still by the tests (drain_at), so the per-second limit is checked exactly.
#include <doctest/doctest.h>

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "base/diagnostics.h"
#include "chat/peer_error_reporter.h"
#include "chat/recent_destinations.h"
#include "net/endpoint.h"
#include "net/udp_socket.h"
#include "tests/support/eventually.h"
#include "tests/support/text_checks.h"

using namespace std::chrono_literals;
using testing_support::count_occurrences;
using testing_support::eventually;

namespace {

asio::ip::udp::endpoint loopback(std::uint16_t port) {
  return {net::parse_address("127.0.0.1"), port};
}

// Ports on 127.0.0.1 where nothing listens: bound by the kernel's choice, then closed.
std::vector<std::uint16_t> closed_ports(std::size_t count) {
  std::vector<std::uint16_t> ports;
  for (std::size_t i = 0; i < count; ++i) {
    net::UdpSocket gone(net::parse_address("127.0.0.1"), 0);
    ports.push_back(gone.local_endpoint().port());
  }
  return ports;
}

// A chat's socket and reporter, with the reporter's lines in a temporary file.
struct Reporting {
  std::FILE* file = std::tmpfile();
  base::Diagnostics diagnostics{::fileno(file), "chat"};
  net::UdpSocket socket{net::parse_address("127.0.0.1"), 0};
  chat::PeerErrorReporter reporter{socket, diagnostics};

  ~Reporting() {
    diagnostics.stop();  // its writer thread uses the file until then
    std::fclose(file);
  }

  // Sends one byte. A send fails once with the error of an earlier ICMP report (IP_RECVERR hands
  // it to the next call; the report itself stays queued), so it is tried again, as the chat does.
  void send_to(std::uint16_t port) {
    const std::byte byte{'x'};
    auto failure = socket.send_to(std::span(&byte, 1), loopback(port));
    if (failure == std::errc::connection_refused) {
      failure = socket.send_to(std::span(&byte, 1), loopback(port));
    }
    REQUIRE_FALSE(failure);
  }
  // Drains at `now` until `condition` holds (bounded: the ICMP answers arrive on their own time).
  template <typename Condition>
  bool drain_until(chat::PeerErrorReporter::Clock::time_point now, Condition condition) {
    return eventually([&] {
      reporter.drain_at(now);
      return condition();
    });
  }
  // Whether the socket's error queue holds a report, waiting up to `limit` for one.
  bool report_queued(std::chrono::milliseconds limit = 20s) {
    pollfd ready{socket.native_handle(), 0, 0};  // POLLERR is always reported
    return ::poll(&ready, 1, static_cast<int>(limit.count())) == 1 &&
           (ready.revents & POLLERR) != 0;
  }
  // Everything written so far (the sink is stopped: no more lines).
  std::string text() {
    diagnostics.stop();
    std::string all;
    char chunk[4096];
    ::lseek(::fileno(file), 0, SEEK_SET);
    for (ssize_t got; (got = ::read(::fileno(file), chunk, sizeof(chunk))) > 0;) {
      all.append(chunk, static_cast<std::size_t>(got));
    }
    return all;
  }
};

}  // namespace

TEST_CASE("recent destinations: the last 64 sent to, IPv4-mapped the same as IPv4") {
  chat::RecentDestinations recent;
  CHECK_FALSE(recent.contains(loopback(1000)));
  for (std::uint16_t port = 1000; port < 1000 + chat::RecentDestinations::kCapacity; ++port) {
    recent.remember(loopback(port));
  }
  CHECK(recent.size() == chat::RecentDestinations::kCapacity);
  CHECK(recent.contains(loopback(1000)));
  recent.remember(loopback(1000));  // sent to again: now the most recent
  recent.remember(loopback(2000));  // one more: the least recent (1001) is forgotten
  CHECK(recent.size() == chat::RecentDestinations::kCapacity);
  CHECK(recent.contains(loopback(1000)));
  CHECK_FALSE(recent.contains(loopback(1001)));
  CHECK(recent.contains(loopback(1002)));
  CHECK(recent.contains(loopback(2000)));
  const asio::ip::udp::endpoint mapped(net::parse_address("::ffff:127.0.0.1"), 2000);
  CHECK(recent.contains(mapped));
  recent.remember(asio::ip::udp::endpoint(net::parse_address("::ffff:127.0.0.9"), 9));
  CHECK(recent.contains(asio::ip::udp::endpoint(net::parse_address("127.0.0.9"), 9)));
  CHECK_FALSE(recent.contains(asio::ip::udp::endpoint(net::parse_address("::1"), 2000)));
}

TEST_CASE("peer errors: a report about a destination the chat did not send to is only counted") {
  Reporting chat;
  const auto ports = closed_ports(2);
  chat.send_to(ports[0]);  // not remembered: as if someone else had sent it
  const auto now = chat::PeerErrorReporter::Clock::now();
  REQUIRE(chat.drain_until(now, [&] { return chat.reporter.ignored() == 1; }));
  chat.reporter.remember_destination(loopback(ports[1]));
  chat.send_to(ports[1]);
  REQUIRE(chat.drain_until(now, [&] { return chat.reporter.reported() == 1; }));
  CHECK(chat.reporter.ignored() == 1);
  const auto text = chat.text();
  CHECK(text == "chat: 127.0.0.1:" + std::to_string(ports[1]) +
                    " is not listening (ICMP port unreachable); the chat goes on\n");
}

TEST_CASE("peer errors: at most five lines a second, the rest said as one count") {
  Reporting chat;
  const auto ports = closed_ports(12);
  for (const auto port : ports) {
    chat.reporter.remember_destination(loopback(port));
    chat.send_to(port);
  }
  const auto start = chat::PeerErrorReporter::Clock::now();
  REQUIRE(chat.drain_until(
      start, [&] { return chat.reporter.reported() + chat.reporter.not_shown() == 12; }));
  CHECK(chat.reporter.reported() == 5);
  CHECK(chat.reporter.not_shown() == 7);
  chat.reporter.drain_at(start + 999ms);  // still the same second: nothing more is said
  chat.reporter.drain_at(start + 1s);     // the next second says what was held back, once
  chat.reporter.drain_at(start + 2s);
  const auto text = chat.text();
  CAPTURE(text);
  CHECK(count_occurrences(text, "is not listening") == 5);
  CHECK(count_occurrences(text, "chat: 7 more ICMP reports not shown\n") == 1);
  CHECK(testing_support::count_lines(text) == 6);
}

TEST_CASE("peer errors: the same report again within a second is said once") {
  Reporting chat;
  const auto port = closed_ports(1)[0];
  chat.reporter.remember_destination(loopback(port));
  const auto start = chat::PeerErrorReporter::Clock::now();
  chat.send_to(port);
  REQUIRE(chat.drain_until(start, [&] { return chat.reporter.reported() == 1; }));
  // The same report again within the second: read, and not shown.
  chat.send_to(port);
  REQUIRE(chat.report_queued());
  chat.reporter.drain_at(start + 500ms);
  CHECK_FALSE(chat.report_queued(0ms));
  CHECK(chat.reporter.reported() == 1);
  chat.send_to(port);
  REQUIRE(chat.drain_until(start + 2s, [&] { return chat.reporter.reported() == 2; }));
  CHECK(chat.reporter.not_shown() == 0);
}
