// The test relay (tests/support/udp_relay.cpp) that sits between two chats on two hosts: numbered
// datagrams through it, from plain sockets on loopback, come out duplicated and reordered as asked,
// none lost, both ways, and the same seed makes the same choices.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tests/support/eventually.h"
#include "tests/support/process.h"
#include "tests/support/summary.h"

using namespace testing_support;
using namespace std::chrono_literals;

namespace {

// A plain UDP socket on 127.0.0.1, kernel-chosen port.
class PlainSocket {
 public:
  PlainSocket() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    const int buffer = 1 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0);
    socklen_t length = sizeof local;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &length);
    port_ = ntohs(local.sin_port);
  }
  ~PlainSocket() { ::close(fd_); }
  PlainSocket(const PlainSocket&) = delete;
  PlainSocket& operator=(const PlainSocket&) = delete;

  int port() const { return port_; }
  void send_to(int port, const std::string& text) const {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    REQUIRE(::sendto(fd_, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof to) == static_cast<ssize_t>(text.size()));
  }
  // Every datagram waiting now, with the port it came from; waits up to `wait` for the first.
  void receive(std::vector<std::pair<int, std::string>>& into, std::chrono::milliseconds wait) {
    pollfd fd{fd_, POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(wait.count())) <= 0) return;
    char buffer[2048];
    for (int i = 0; i < 10'000; ++i) {
      sockaddr_in from{};
      socklen_t length = sizeof from;
      const auto got = ::recvfrom(fd_, buffer, sizeof buffer, MSG_DONTWAIT,
                                  reinterpret_cast<sockaddr*>(&from), &length);
      if (got < 0) return;
      into.emplace_back(ntohs(from.sin_port), std::string(buffer, static_cast<std::size_t>(got)));
    }
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

struct Relay {
  std::unique_ptr<ChildProcess> process;
  int a_port = 0;
  int b_port = 0;
};

Relay start_relay(const PlainSocket& a, const PlainSocket& b, std::vector<std::string> extra) {
  std::vector<std::string> argv = {program_path("udp_relay"),
                                   "--bind",
                                   "127.0.0.1",
                                   "--a",
                                   fmt::format("127.0.0.1:{}", a.port()),
                                   "--b",
                                   fmt::format("127.0.0.1:{}", b.port())};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Relay relay;
  relay.process = std::make_unique<ChildProcess>(argv);
  const auto line = relay.process->read_stdout_line(30s);
  REQUIRE(line.has_value());
  REQUIRE(line->starts_with("relay ready "));
  REQUIRE(std::sscanf(line->c_str(), "relay ready a-port=%d b-port=%d", &relay.a_port,
                      &relay.b_port) == 2);
  return relay;
}

// What one side received: the numbers in arrival order.
struct Arrivals {
  std::vector<int> order;
  std::set<int> distinct;
  std::set<int> senders;  // source ports
};

// Sends `count` numbered datagrams ("N") from `from` to `port`, ten at a time, and collects them
// at `to`: each group is received whole (a held one waits at most the relay's hold) before the
// next is sent, so no socket buffer overflows and nothing is lost for want of pacing.
Arrivals send_numbered(PlainSocket& from, int port, PlainSocket& to, int count) {
  Arrivals arrivals;
  std::vector<std::pair<int, std::string>> got;
  for (int first = 0; first < count; first += 10) {
    const int last = std::min(count, first + 10);
    for (int i = first; i < last; ++i) from.send_to(port, std::to_string(i));
    const bool whole = eventually(
        [&] {
          to.receive(got, 10ms);
          for (const auto& [source, text] : got) {
            arrivals.order.push_back(std::stoi(text));
            arrivals.distinct.insert(std::stoi(text));
            arrivals.senders.insert(source);
          }
          got.clear();
          return arrivals.distinct.size() == static_cast<std::size_t>(last);
        },
        30s);
    REQUIRE(whole);
  }
  // A duplicate of the last group may still be on its way: take what comes within a moment.
  to.receive(got, 200ms);
  for (const auto& [source, text] : got) arrivals.order.push_back(std::stoi(text));
  return arrivals;
}

int inversions(const std::vector<int>& order) {
  int count = 0;
  int highest = -1;
  for (const int n : order) {
    if (n < highest) ++count;
    highest = std::max(highest, n);
  }
  return count;
}

Summary stop_relay(Relay& relay) {
  relay.process->signal(SIGTERM);
  const auto code = relay.process->wait(30s);
  CHECK(code == 0);
  const auto text = relay.process->read_all_stderr(5s);
  CAPTURE(text);
  CHECK(text.find("summary: forwarded=") != std::string::npos);
  return Summary::parse(text);
}

}  // namespace

TEST_CASE("udp_relay without faults forwards every datagram once and in order both ways") {
  PlainSocket a, b;
  auto relay = start_relay(a, b, {});
  const auto at_b = send_numbered(a, relay.a_port, b, 200);
  const auto at_a = send_numbered(b, relay.b_port, a, 200);
  std::vector<int> expected(200);
  for (int i = 0; i < 200; ++i) expected[i] = i;
  CHECK(at_b.order == expected);
  CHECK(at_a.order == expected);
  // Each side hears the other from the relay's port it talks to.
  CHECK(at_b.senders == std::set<int>{relay.b_port});
  CHECK(at_a.senders == std::set<int>{relay.a_port});
  const auto summary = stop_relay(relay);
  CHECK(summary.count("forwarded") == 400);
  CHECK(summary.count("duplicated") == 0);
  CHECK(summary.count("reordered") == 0);
}

TEST_CASE("udp_relay duplicates and reorders datagrams as asked and loses none") {
  PlainSocket a, b;
  // A long hold: a held datagram is let go by the next one, however slowly the test sends.
  auto relay = start_relay(
      a, b, {"--duplicate", "0.2", "--reorder", "0.2", "--hold-ms", "1000", "--seed", "7"});
  const auto at_b = send_numbered(a, relay.a_port, b, 200);
  const auto at_a = send_numbered(b, relay.b_port, a, 200);
  for (const auto* side : {&at_b, &at_a}) {
    CHECK(side->distinct.size() == 200);             // none lost
    CHECK(side->order.size() > 200);                 // some twice
    CHECK(inversions(side->order) > 0);              // some late
    CHECK(side->order.size() < 200 + 200 * 4 / 10);  // about a fifth, not all
    MESSAGE("arrivals " << side->order.size() << ", late " << inversions(side->order));
  }
  const auto summary = stop_relay(relay);
  CHECK(summary.count("duplicated") > 0);
  CHECK(summary.count("reordered") > 0);
  CHECK(summary.count("forwarded") ==
        static_cast<long long>(at_b.order.size() + at_a.order.size()));
}

TEST_CASE("udp_relay makes the same choices for the same seed and others for another") {
  std::map<int, std::pair<long long, long long>> choices;
  for (const int seed : {7, 7, 8}) {
    PlainSocket a, b;
    auto relay = start_relay(a, b,
                             {"--duplicate", "0.3", "--reorder", "0.3", "--hold-ms", "1000",
                              "--seed", std::to_string(seed)});
    send_numbered(a, relay.a_port, b, 100);
    const auto summary = stop_relay(relay);
    const std::pair<long long, long long> made{summary.count("duplicated"),
                                               summary.count("reordered")};
    if (choices.contains(seed)) {
      CHECK(choices[seed] == made);
    } else {
      choices[seed] = made;
    }
  }
  CHECK(choices[7] != choices[8]);
}

TEST_CASE("udp_relay refuses a bad option with one line and exit code 2") {
  const auto run =
      run_program({program_path("udp_relay"), "--a", "127.0.0.1:1", "--b", "nohost:2"});
  CHECK(run.exit_code == 2);
  CHECK(run.stderr_text.ends_with("(try --help)\n"));
  CHECK(std::count(run.stderr_text.begin(), run.stderr_text.end(), '\n') == 1);
}
