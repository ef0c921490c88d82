// udp-chat's delivery receipts and LAN presence between two hosts: two network namespaces joined
// by a veth pair, a chat on port 7890 in each, random loss from nftables in one namespace, and
// duplication and reordering from the test relay (tests/support/udp_relay.cpp). First the bench
// itself (multicast over the pair, the loss rule), then the chat on it. Needs root (ip netns
// add); skips with a printed reason elsewhere. See docs/design.md, "Testing on two hosts".
#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "tests/chat/chat_harness.h"
#include "tests/support/eventually.h"
#include "tests/support/netns.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/text_files.h"

using namespace chat_test;
using namespace testing_support;

namespace {

constexpr int kChatPort = 7890;
constexpr const char* kGroup4 = "239.255.78.90";
constexpr const char* kGroup6 = "ff02::7890";

// Starts a chat inside a namespace with discovery on (the harness keeps it off unless asked):
// presence is what these tests are about, and in a namespace of their own the announcements stay
// on the veth pair. The one place that says so.
Chat start_announcing(const TempDir& dir, const std::string& name, std::vector<std::string> args,
                      const std::vector<std::string>& prefix) {
  return start_chat(dir, name, std::move(args), prefix, Discovery::on);
}

// A program's shell command run to its end inside a namespace; its exit code.
int run_in(const NetworkNamespaces& hosts, int host, const std::string& command) {
  return run_command(hosts.shell(host) + command).exit_code;
}

// Python that sends `count` datagrams "N\n" (N from `first`) to HOST:PORT, 1 ms apart so the
// receiving socket keeps up, then exits 0 (1 when a send fails, e.g. no route).
std::string numbered_sender(const std::string& host, int port, int first, int count) {
  return fmt::format(
      "python3 -c \"import socket,time\n"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
      "s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_TTL,1)\n"
      "for i in range({},{}):\n"
      "  s.sendto(b'%d\\n'%i,('{}',{}))\n"
      "  time.sleep(0.001)\n\"",
      first, first + count, host, port);
}

// Waits (bounded) until a UDP socket in namespace `host` is bound to `port`, so nothing sent to
// it from now on is refused.
bool bound_in(const NetworkNamespaces& hosts, int host, int port) {
  const auto command = hosts.shell(host) + fmt::format("ss -Hnul 'sport = :{}'", port);
  return eventually([&] { return !run_command(command).output.empty(); }, kWait);
}

// Up to `count` lines a receiver prints, each within `wait` of the one before.
std::vector<std::string> lines_until(ChildProcess& receiver, std::size_t count,
                                     std::chrono::milliseconds wait) {
  std::vector<std::string> lines;
  while (lines.size() < count) {
    const auto line = receiver.read_stdout_line(wait);
    if (!line) break;
    lines.push_back(*line);
  }
  return lines;
}

// The stdout lines of one chat, read as they come.
struct Screen {
  std::vector<std::string> lines;
  // Reads what the chat printed within `wait` (at most 10 000 lines a call).
  void read(Chat& chat, std::chrono::milliseconds wait) {
    for (int i = 0; i < 10'000; ++i) {
      const auto line = chat.process->read_stdout_line(i == 0 ? wait : 1ms);
      if (!line) return;
      lines.push_back(*line);
    }
  }
  // Reads what the chat prints for `period`, however much or little that is: a pace.
  void read_for(Chat& chat, std::chrono::milliseconds period) {
    const auto end = std::chrono::steady_clock::now() + period;
    for (int i = 0; i < 10'000; ++i) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left <= 0ms) return;
      const auto line = chat.process->read_stdout_line(left);
      if (line) lines.push_back(*line);
    }
  }
};

// One delivery outcome line: `delivered #N to (IP, PORT) in X ms: TEXT` or
// `not delivered #N to (IP, PORT) after K tries: TEXT`.
struct Outcome {
  bool delivered = false;
  std::string text;
};
std::optional<Outcome> parse_outcome(const std::string& line) {
  static const std::regex pattern(
      R"(^(not )?delivered #\d+ to \([^)]*\) (in [0-9.]+ \w+|after \d+ tries?): (.*)$)");
  std::smatch match;
  if (!std::regex_match(line, match, pattern)) return std::nullopt;
  return Outcome{!match[1].matched, match[3].str()};
}

// How each text a sender typed ended: its outcome lines, and how often the receiver showed it.
struct Tally {
  std::map<std::string, int> delivered;
  std::map<std::string, int> undelivered;
  std::map<std::string, int> shown;
};
Tally tally(const Screen& sender, const Screen& receiver) {
  Tally result;
  for (const auto& line : sender.lines) {
    if (const auto outcome = parse_outcome(line)) {
      ++(outcome->delivered ? result.delivered : result.undelivered)[outcome->text];
    }
  }
  for (const auto& line : receiver.lines) {
    const auto close = line.find("):");
    if (line.starts_with(">>>(") && close != std::string::npos)
      ++result.shown[line.substr(close + 2)];
  }
  return result;
}

int outcomes(const Screen& screen) {
  int count = 0;
  for (const auto& line : screen.lines) count += parse_outcome(line).has_value() ? 1 : 0;
  return count;
}

// Types /who (at most every 250 ms, up to kWait) until it lists a peer named `name` on port
// 7890 (at whichever of its addresses was heard); returns that line.
std::optional<std::string> who_until_seen(Chat& chat, const std::string& name) {
  const auto needle = fmt::format(":{} seen", kChatPort);
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  for (int i = 0; i < 120 && std::chrono::steady_clock::now() < deadline; ++i) {
    chat.type("/who");
    const auto line = chat.process->wait_for_stdout(needle, 250ms);
    if (line && line->starts_with(name + " ")) return line;
  }
  return std::nullopt;
}

// A received message's text in the log: the line's text after "):", without the escaped line end
// a plain datagram's text may carry there (the log keeps the bytes exact).
std::optional<std::string> logged_text(const std::string& line) {
  const auto rest = without_timestamp(line);
  const auto close = rest.find("):");
  if (!rest.starts_with(">>>(") || close == std::string::npos) return std::nullopt;
  auto text = rest.substr(close + 2);
  for (const std::string end : {"\\r\\n", "\\n"}) {
    if (text.ends_with(end)) return text.substr(0, text.size() - end.size());
  }
  return text;
}

}  // namespace

TEST_CASE("netns: IPv4 multicast crosses the veth pair once each side routes 224.0.0.0/4 to it") {
  NetworkNamespaces hosts(2, true);
  if (!hosts.usable()) return skip(hosts.reason());
  if (find_in_path("socat").empty()) return skip("socat is not installed (scripts/setup.sh)");
  // Without the route there is no way out for a group address: the send itself fails.
  CHECK(run_in(hosts, 0, numbered_sender(kGroup4, kChatPort, 0, 1) + " 2>/dev/null") != 0);
  REQUIRE(hosts.route_multicast());
  ChildProcess receiver(
      {"/usr/sbin/ip", "netns", "exec", hosts.name(1), "socat", "-u",
       fmt::format("UDP4-RECV:{},ip-add-membership={}:{}", kChatPort, kGroup4, hosts.veth(1)),
       "STDOUT"});
  // The group is joined once socat runs: send until the first datagram is seen (bounded).
  std::optional<std::string> line;
  for (int round = 0; round < 30 && !line; ++round) {
    CHECK(run_in(hosts, 0, numbered_sender(kGroup4, kChatPort, round, 1)) == 0);
    line = receiver.read_stdout_line(1s);
  }
  CHECK(line.has_value());
}

TEST_CASE("netns: the loss rule drops about 30 percent of 1000 datagrams and none once removed") {
  NetworkNamespaces hosts(2, true);
  if (!hosts.usable()) return skip(hosts.reason());
  if (find_in_path("socat").empty()) return skip("socat is not installed (scripts/setup.sh)");
  LossRule loss(hosts.name(1), kChatPort, 30);
  if (!loss.usable()) return skip(loss.reason());
  ChildProcess receiver({"/usr/sbin/ip", "netns", "exec", hosts.name(1), "socat", "-u",
                         fmt::format("UDP4-RECV:{}", kChatPort), "STDOUT"});
  REQUIRE(bound_in(hosts, 1, kChatPort));
  REQUIRE(run_in(hosts, 0, numbered_sender(hosts.address(1), kChatPort, 0, 1000)) == 0);
  // The sender is done: each datagram is dropped (and counted) or waiting for socat by now.
  const auto dropped = loss.dropped();
  REQUIRE(dropped >= 0);
  const auto got = lines_until(receiver, static_cast<std::size_t>(1000 - dropped), kWait);
  MESSAGE("of 1000 datagrams " << got.size() << " arrived, the rule dropped " << dropped);
  std::fprintf(stderr, "loss rule: of 1000 datagrams %zu arrived, %lld dropped\n", got.size(),
               dropped);
  // What did not arrive is exactly what the rule dropped, and that is near 30%: 1000 draws at
  // 0.3 fall within 200..400 with a probability of all but 1e-11.
  CHECK(static_cast<long long>(got.size()) + dropped == 1000);
  CHECK(dropped >= 200);
  CHECK(dropped <= 400);
  loss.remove();
  REQUIRE(run_in(hosts, 0, numbered_sender(hosts.address(1), kChatPort, 1000, 200)) == 0);
  const auto after = lines_until(receiver, 200, kWait);
  CHECK(after.size() == 200);
}

TEST_CASE("netns: each chat sees the other by name in /who") {
  TempDir dir;
  NetworkNamespaces hosts(2, true);  // before the chats: deleted after they are gone
  if (!hosts.usable()) return skip(hosts.reason());
  REQUIRE(hosts.route_multicast());
  auto a = start_announcing(dir, "a", {"--port", "7890", "--name", "alice"}, hosts.exec(0));
  auto b = start_announcing(dir, "b", {"--port", "7890", "--name", "bob"}, hosts.exec(1));
  const auto started = std::chrono::steady_clock::now();
  const auto bob = who_until_seen(a, "bob");
  const auto alice = who_until_seen(b, "alice");
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  MESSAGE("both seen in /who " << took.count() << " ms after the second chat started");
  REQUIRE(bob.has_value());
  REQUIRE(alice.has_value());
  MESSAGE("alice lists " << *bob << " and bob lists " << *alice);
  a.type("/quit");
  b.type("/quit");
  a.finish();
  b.finish();
  CHECK(a.exit_code == 0);
  CHECK(b.exit_code == 0);
}

TEST_CASE("netns: across loss, duplication and reordering each message is shown once or reported") {
  constexpr int kMessages = 200;
  TempDir dir;
  NetworkNamespaces hosts(2, true);
  if (!hosts.usable()) return skip(hosts.reason());
  REQUIRE(hosts.route_multicast());
  // Host A loses 30% of what arrives for the chat: B's messages and B's receipts for A's.
  LossRule loss(hosts.name(0), kChatPort, 30);
  if (!loss.usable()) return skip(loss.reason());
  // The relay runs on host B: A talks to B:7891, which B's chat hears from B:7892 and answers.
  ChildProcess relay({"/usr/sbin/ip", "netns", "exec", hosts.name(1), program_path("udp_relay"),
                      "--a", hosts.address(0) + ":7890", "--b", hosts.address(1) + ":7890",
                      "--a-port", "7891", "--b-port", "7892", "--duplicate", "0.2", "--reorder",
                      "0.2", "--seed", "11"});
  const auto ready = relay.read_stdout_line(kWait);
  REQUIRE(ready.has_value());
  REQUIRE(ready->starts_with("relay ready"));
  // The relay's ends never announce themselves: receipts are asked for outright.
  auto a = start_announcing(dir, "a",
                            {"--port", "7890", "--name", "alice", "--receipts", "always", "--peer",
                             hosts.address(1) + ":7891"},
                            hosts.exec(0));
  auto b = start_announcing(dir, "b",
                            {"--port", "7890", "--name", "bob", "--receipts", "always", "--peer",
                             hosts.address(1) + ":7892"},
                            hosts.exec(1));
  Screen a_screen, b_screen;
  // Paced typing, about 50 lines a second each way, so what is tested is the link and not the
  // chats' bounded queues.
  for (int i = 0; i < kMessages; ++i) {
    a.type(fmt::format("a to b {:03}", i));
    b.type(fmt::format("b to a {:03}", i));
    a_screen.read_for(a, 10ms);
    b_screen.read_for(b, 10ms);
  }
  // Every message ends in one outcome line at its sender, within about 3 s of its last try.
  eventually(
      [&] {
        a_screen.read(a, 10ms);
        b_screen.read(b, 10ms);
        return outcomes(a_screen) >= kMessages && outcomes(b_screen) >= kMessages;
      },
      kWait);
  a.type("/quit");
  b.type("/quit");
  a.finish();
  b.finish();
  a_screen.read(a, 100ms);
  b_screen.read(b, 100ms);
  relay.signal(SIGTERM);
  CHECK(relay.wait(kWait) == 0);
  MESSAGE("relay: " << relay.read_all_stderr(5s) << "loss rule dropped " << loss.dropped());

  struct Side {
    const char* from;
    Chat& sender;
    Chat& receiver;
    const Screen& sender_screen;
    const Screen& receiver_screen;
  };
  for (const Side& side :
       {Side{"a to b", a, b, a_screen, b_screen}, Side{"b to a", b, a, b_screen, a_screen}}) {
    const std::string from = side.from;
    CAPTURE(from);
    CAPTURE(side.sender.stderr_text);
    CAPTURE(side.receiver.stderr_text);
    const auto result = tally(side.sender_screen, side.receiver_screen);
    const auto log = read_lines(side.receiver.log);
    int delivered = 0, undelivered = 0, lost = 0, twice = 0;
    for (int i = 0; i < kMessages; ++i) {
      const auto text = fmt::format("{} {:03}", side.from, i);
      const int shown = result.shown.contains(text) ? result.shown.at(text) : 0;
      const int yes = result.delivered.contains(text) ? result.delivered.at(text) : 0;
      const int no = result.undelivered.contains(text) ? result.undelivered.at(text) : 0;
      const auto logged = std::count_if(
          log.begin(), log.end(), [&](const auto& line) { return logged_text(line) == text; });
      CAPTURE(text);
      CHECK(yes + no == 1);             // one outcome line per message
      CHECK(shown <= 1);                // never shown twice
      CHECK(logged == shown);           // the log holds what the screen showed
      if (yes == 1) CHECK(shown == 1);  // delivered means it was shown
      if (shown == 0 && no == 0) ++lost;
      if (shown > 1) ++twice;
      delivered += yes;
      undelivered += no;
    }
    CHECK(lost == 0);
    CHECK(twice == 0);
    MESSAGE(std::string(side.from)
            << ": delivered " << delivered << ", not delivered " << undelivered);
    CHECK(side.sender.exit_code == 0);
    CHECK(side.sender.summary.count("sent") == kMessages);
    CHECK(side.sender.summary.count("delivered") == delivered);
    CHECK(side.sender.summary.count("undelivered") == undelivered);
    CHECK(side.sender.summary.count("delivered") + side.sender.summary.count("undelivered") ==
          side.sender.summary.count("sent"));
    // The relay doubled a fifth of the datagrams and lost receipts bring retries: the receiver
    // saw copies, counted them and showed none.
    CHECK(side.receiver.summary.count("duplicates") > 0);
  }
}

TEST_CASE("netns: once the peer has quit, later messages are reported not delivered") {
  TempDir dir;
  NetworkNamespaces hosts(2, true);
  if (!hosts.usable()) return skip(hosts.reason());
  REQUIRE(hosts.route_multicast());
  auto a = start_announcing(dir, "a",
                            {"--port", "7890", "--name", "alice", "--receipts", "always", "--peer",
                             hosts.address(1) + ":7890"},
                            hosts.exec(0));
  auto b = start_announcing(dir, "b", {"--port", "7890", "--name", "bob"}, hosts.exec(1));
  a.type("before");
  CHECK(b.process->wait_for_stdout(":before", kWait));
  const auto before = a.process->wait_for_stdout(": before", kWait);
  REQUIRE(before.has_value());
  CHECK(before->starts_with("delivered #"));
  b.type("/quit");
  b.finish();
  CHECK(b.exit_code == 0);
  // Its goodbye, or at worst its silence, says it is gone.
  CHECK(a.process->wait_for_stdout("left: bob", kWait));
  for (int i = 0; i < 3; ++i) a.type(fmt::format("after {}", i));
  for (int i = 0; i < 3; ++i) {
    const auto outcome = a.process->wait_for_stdout(fmt::format(": after {}", i), kWait);
    REQUIRE(outcome.has_value());
    CHECK(outcome->starts_with("not delivered #"));
    CHECK(outcome->find(fmt::format("to ({}, 7890) after ", hosts.address(1))) !=
          std::string::npos);
  }
  a.type("/quit");
  a.finish();
  CHECK(a.exit_code == 0);
  CHECK(a.summary.count("delivered") == 1);
  CHECK(a.summary.count("undelivered") == 3);
}

TEST_CASE(
    "netns: a plain socat peer gets only typed text and line ends from a chat that announces") {
  TempDir dir;
  NetworkNamespaces hosts(2, true);
  if (!hosts.usable()) return skip(hosts.reason());
  if (find_in_path("socat").empty()) return skip("socat is not installed (scripts/setup.sh)");
  REQUIRE(hosts.route_multicast());
  // Host B counts the announcements that reach it, both families, before any socket could take
  // them, so the check below is not passed by a chat that never announced.
  const auto nft = hosts.shell(1) + "nft ";
  REQUIRE(run_command(nft + "add table inet seen").exit_code == 0);
  REQUIRE(run_command(nft + "'add chain inet seen pre { type filter hook prerouting priority 0; }'")
              .exit_code == 0);
  REQUIRE(run_command(nft + fmt::format("add rule inet seen pre ip daddr {} udp dport {} counter",
                                        kGroup4, kChatPort))
              .exit_code == 0);
  REQUIRE(run_command(nft + fmt::format("add rule inet seen pre ip6 daddr {} udp dport {} counter",
                                        kGroup6, kChatPort))
              .exit_code == 0);
  const auto announcements = [&] {
    const auto listing = run_command(nft + "list table inet seen").output;
    static const std::regex counter(R"(counter packets (\d+))");
    long long total = 0;
    for (auto it = std::sregex_iterator(listing.begin(), listing.end(), counter);
         it != std::sregex_iterator(); ++it) {
      total += std::stoll((*it)[1].str());
    }
    return total;
  };
  const auto received = dir.file("socat.bin");
  // Dual-stack (UDP6-RECV on a v6only=0 host), so an IPv6 announcement would reach it as well.
  ChildProcess socat({"/usr/sbin/ip", "netns", "exec", hosts.name(1), "socat", "-u",
                      fmt::format("UDP6-RECV:{}", kChatPort), "CREATE:" + received});
  REQUIRE(bound_in(hosts, 1, kChatPort));
  // --eol lf, the default a user gets (the harness passes --eol none unless told otherwise).
  auto a = start_announcing(
      dir, "a",
      {"--port", "7890", "--name", "alice", "--eol", "lf", "--peer", hosts.address(1) + ":7890"},
      hosts.exec(0));
  const std::string expected = "hello plain\nsecond line\n";
  a.type("hello plain");
  a.type("second line");
  CHECK(eventually([&] { return read_file(received) == expected; }, kWait));
  // Two announcement periods and more pass with the chat talking to it.
  CHECK(eventually([&] { return announcements() >= 4; }, kWait));
  a.type("/quit");
  a.finish();
  CHECK(a.exit_code == 0);
  CHECK(read_file(received) == expected);  // not one framed datagram, not one announcement
  CHECK(a.summary.count("sent") == 2);
  CHECK(a.summary.count("delivered") == 0);
  CHECK(a.summary.count("undelivered") == 0);
  Screen screen;
  screen.read(a, 100ms);
  CHECK(outcomes(screen) == 0);  // nothing of the kind for a plain peer
  MESSAGE("announcements seen on host B: " << announcements());
}
