// LAN presence between two machines: two network namespaces joined by a veth pair, each with a
// route for 224.0.0.0/4 on its end, a udp-chat on port 7890 in each with discovery on. Needs
// root (ip netns add); skips with a printed reason elsewhere. Namespaces get unique names and
// are always deleted, also when a check fails. No timing assertions: the time until each saw
// the other is printed, not checked.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tests/chat/chat_harness.h"
#include "tests/support/netns.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/text_files.h"

using namespace chat_test;
using namespace testing_support;

namespace {

// Two hosts joined by a veth pair with a route for 224.0.0.0/4 on each end (tests/support/netns.h).
struct TwoHosts : NetworkNamespaces {
  TwoHosts() : NetworkNamespaces(2, true) {
    if (usable()) route_multicast();
  }
};

// A namespace with only loopback: no route for 239.255.78.90 (lo is not multicast).
struct Lonely : NetworkNamespaces {
  Lonely() : NetworkNamespaces(1, false) {}
};

}  // namespace

TEST_CASE("netns: two chats on a LAN find each other by name and chat with receipts") {
  TwoHosts hosts;
  if (!hosts.usable()) return skip(hosts.reason());
  TempDir dir;
  const auto started = std::chrono::steady_clock::now();
  auto a =
      start_chat(dir, "a", {"--port", "7890", "--name", "alice"}, hosts.exec(0), Discovery::on);
  auto b =
      start_chat(dir, "b", {"--port", "7890", "--name", "bob 李"}, hosts.exec(1), Discovery::on);
  const auto a_at = hosts.address(0) + ":7890";
  const auto b_at = hosts.address(1) + ":7890";
  REQUIRE(a.process->wait_for_stdout("joined: bob 李 at " + b_at, kWait));
  REQUIRE(b.process->wait_for_stdout("joined: alice at " + a_at, kWait));
  const auto seen_after = std::chrono::steady_clock::now() - started;
  MESSAGE(
      "both joined " << std::chrono::duration_cast<std::chrono::milliseconds>(seen_after).count()
                     << " ms after the first start");
  a.type("/who");
  const auto who = a.process->wait_for_stdout(" seen ", kWait);
  REQUIRE(who);
  CHECK(who->starts_with("bob 李 " + b_at + " seen "));
  CHECK(who->ends_with("s ago receipts"));
  a.type("/peer bob 李");
  REQUIRE(a.process->wait_for_stdout("sending to bob 李 at " + b_at, kWait));
  a.type("hello over the LAN");
  const auto outcome = a.process->wait_for_stdout("delivered #", kWait);
  REQUIRE(outcome);
  CHECK(outcome->starts_with(fmt::format("delivered #1 to ({}, 7890) in ", hosts.address(1))));
  CHECK(outcome->ends_with(" ms: hello over the LAN"));
  const auto shown = b.process->wait_for_stdout(">>>", kWait);
  REQUIRE(shown);
  CHECK(*shown == fmt::format(">>>({}, 7890):hello over the LAN", hosts.address(0)));
  // Goodbye at exit: the other side says the peer left.
  b.type("/quit");
  b.finish();
  CHECK(b.exit_code == 0);
  REQUIRE(a.process->wait_for_stdout("left: bob 李 at " + b_at, kWait));
  a.type("/who");
  CHECK(a.process->wait_for_stdout("no peers seen", kWait));
  a.type("/quit");
  a.finish();
  CHECK(a.exit_code == 0);
  CHECK(a.summary.count("delivered") == 1);
  CHECK(a.summary.count("undelivered") == 0);
  CHECK(b.summary.count("received") == 1);
  // Announcements are not messages: neither log holds anything but the one message (and a's
  // receipt line).
  const auto log_b = read_lines(b.log);
  CHECK(log_b.size() == 1);
  const auto log_a = read_lines(a.log);
  CHECK(count_lines_starting(log_a, "<<<(") == 1);
  CHECK(count_lines_starting(log_a, "===(") == 1);
}

TEST_CASE("netns: a chat with no multicast route says so once and chats on") {
  TwoHosts hosts;
  if (!hosts.usable()) return skip(hosts.reason());
  TempDir dir;
  Lonely lonely;
  if (!lonely.usable()) return skip(lonely.reason());
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1"}, lonely.exec(0), Discovery::on);
  a.type("/who");
  const auto who = a.process->wait_for_stdout("no peers seen", kWait);
  a.type("/quit");
  a.finish();
  CHECK(who);
  CHECK(a.exit_code == 0);
  CHECK(a.stderr_text.find("no peer discovery: cannot join 239.255.78.90") != std::string::npos);
}

TEST_CASE(
    "netns: an announced name with a bidi override or an invisible character is shown escaped") {
  TwoHosts hosts;
  if (!hosts.usable()) return skip(hosts.reason());
  TempDir dir;
  auto a =
      start_chat(dir, "a", {"--port", "7890", "--name", "alice"}, hosts.exec(0), Discovery::on);
  // A forged announcement from host B: version 1, kind 3 (announce), session, flags 0, then a
  // name holding U+202E (right-to-left override) and U+200B (zero width space), which a terminal
  // would act on or hide.
  const std::string script =
      "import socket\n"
      "name = 'eve\\u202egnp.exe\\u200b'.encode()\n"
      "frame = bytes([0xFF, 0x55, 0x43, 0x48, 1, 3, 0, 0, 0, 7, 0, len(name)]) + name\n"
      "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
      "s.bind(('0.0.0.0', 7890))\n"
      "s.sendto(frame, ('" +
      hosts.address(0) + "', 7890))\n";
  const auto sent =
      run_program({"/usr/sbin/ip", "netns", "exec", hosts.name(1), "python3", "-c", script});
  REQUIRE(sent.exit_code == 0);
  const auto joined = a.process->wait_for_stdout("joined: ", kWait);
  REQUIRE(joined);
  CHECK(joined->find("\u202e") == std::string::npos);
  CHECK(joined->find("\u200b") == std::string::npos);
  CHECK(joined->starts_with("joined: eve\\"));
  CHECK(joined->ends_with(" at " + hosts.address(1) + ":7890"));
  a.type("/who");
  const auto who = a.process->wait_for_stdout(" seen ", kWait);
  REQUIRE(who);
  CHECK(who->find("\u202e") == std::string::npos);
  a.type("/quit");
  a.finish();
  CHECK(a.exit_code == 0);
}
