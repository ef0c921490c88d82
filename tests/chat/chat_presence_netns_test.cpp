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
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/text_files.h"

using namespace chat_test;
using namespace testing_support;

namespace {

// Two network namespaces and a veth pair between them, with a multicast route on each end;
// deleted on destruction.
class TwoHosts {
 public:
  TwoHosts() {
    const int id = static_cast<int>(::getpid() % 100000);
    names_ = {fmt::format("pres{}-0", id), fmt::format("pres{}-1", id)};
    veth_ = {fmt::format("vp{}a", id), fmt::format("vp{}b", id)};
    subnet_ = fmt::format("10.232.{}", id % 250);
    if (::geteuid() != 0) {
      reason_ = "not root: ip netns add needs CAP_SYS_ADMIN";
      return;
    }
    for (const auto& name : names_) {
      if (!run("ip netns add " + name)) {
        reason_ = "ip netns add failed here (no permission for network namespaces?)";
        return;
      }
      created_.push_back(name);
      run("ip -n " + name + " link set lo up");
    }
    bool ok = run(fmt::format("ip link add {} netns {} type veth peer name {} netns {}", veth_[0],
                              names_[0], veth_[1], names_[1]));
    for (int i = 0; ok && i < 2; ++i) {
      ok = run(fmt::format("ip -n {} addr add {}/24 dev {}", names_[i], address(i), veth_[i])) &&
           run(fmt::format("ip -n {} link set {} up", names_[i], veth_[i])) &&
           run(fmt::format("ip -n {} route add 224.0.0.0/4 dev {}", names_[i], veth_[i]));
    }
    if (!ok) reason_ = "could not set up the veth pair and its multicast routes";
  }
  ~TwoHosts() {
    for (const auto& name : created_) run("ip netns del " + name);
  }
  TwoHosts(const TwoHosts&) = delete;
  TwoHosts& operator=(const TwoHosts&) = delete;

  bool usable() const { return reason_.empty(); }
  const std::string& reason() const { return reason_; }
  std::vector<std::string> exec(int i) const {
    return {"/usr/sbin/ip", "netns", "exec", names_[static_cast<std::size_t>(i)]};
  }
  std::string address(int i) const { return fmt::format("{}.{}", subnet_, i + 1); }

 private:
  static bool run(const std::string& command) {
    return run_command(command + " >/dev/null 2>&1").exit_code == 0;
  }
  std::vector<std::string> names_;
  std::vector<std::string> created_;
  std::vector<std::string> veth_;
  std::string subnet_;
  std::string reason_;
};

void skip(const std::string& why) {
  std::fprintf(stderr, "SKIPPED: %s\n", why.c_str());
  MESSAGE("SKIPPED: " << why);
}

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
  // In a namespace of its own, only loopback: no route for 239.255.78.90 (lo is not multicast).
  struct Lonely {
    std::string name = fmt::format("presl{}", ::getpid() % 100000);
    Lonely() {
      run_command("ip netns add " + name + " >/dev/null 2>&1");
      run_command("ip -n " + name + " link set lo up >/dev/null 2>&1");
    }
    ~Lonely() { run_command("ip netns del " + name + " >/dev/null 2>&1"); }
  } lonely;
  auto a = start_chat(dir, "a", {"--bind", "127.0.0.1"},
                      {"/usr/sbin/ip", "netns", "exec", lonely.name}, Discovery::on);
  a.type("/who");
  const auto who = a.process->wait_for_stdout("no peers seen", kWait);
  a.type("/quit");
  a.finish();
  CHECK(who);
  CHECK(a.exit_code == 0);
  CHECK(a.stderr_text.find("no peer discovery: cannot join 239.255.78.90") != std::string::npos);
}
