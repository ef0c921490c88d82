// Two machines as two network namespaces joined by a veth pair, each with its own address, and a
// udp-chat on port 7890 in each. Needs root (ip netns add); skips with a printed reason elsewhere.
// Namespaces get unique names and are always deleted, also when a check fails.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "tests/chat/chat_harness.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

using namespace chat_test;
using namespace testing_support;

namespace {

// Network namespaces (and a veth pair between the first two), deleted on destruction.
class Namespaces {
 public:
  explicit Namespaces(int count, bool link) {
    const int id = static_cast<int>(::getpid() % 100000);
    for (int i = 0; i < count; ++i) names_.push_back(fmt::format("chat{}-{}", id, i));
    veth_ = {fmt::format("vc{}a", id), fmt::format("vc{}b", id)};
    subnet_ = fmt::format("10.231.{}", id % 250);
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
    if (link) {
      const bool ok =
          run(fmt::format("ip link add {} netns {} type veth peer name {} netns {}", veth_[0],
                          names_[0], veth_[1], names_[1])) &&
          run(fmt::format("ip -n {} addr add {}.1/24 dev {}", names_[0], subnet_, veth_[0])) &&
          run(fmt::format("ip -n {} addr add {}.2/24 dev {}", names_[1], subnet_, veth_[1])) &&
          run(fmt::format("ip -n {} link set {} up", names_[0], veth_[0])) &&
          run(fmt::format("ip -n {} link set {} up", names_[1], veth_[1]));
      if (!ok) reason_ = "could not set up the veth pair between the namespaces";
    }
  }
  ~Namespaces() {
    for (const auto& name : created_) run("ip netns del " + name);
  }
  Namespaces(const Namespaces&) = delete;
  Namespaces& operator=(const Namespaces&) = delete;

  bool usable() const { return reason_.empty(); }
  const std::string& reason() const { return reason_; }
  std::vector<std::string> exec(int i) const {
    return {"/usr/sbin/ip", "netns", "exec", names_[i]};
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

TEST_CASE("netns: two hosts chat both ways on port 7890 across a veth pair") {
  TempDir dir;
  Namespaces hosts(2, true);  // before the chats: deleted after they are gone
  if (!hosts.usable()) return skip(hosts.reason());
  auto a = start_chat(dir, "a", {"--port", "7890", "--peer", hosts.address(1) + ":7890"},
                      hosts.exec(0));
  auto b = start_chat(dir, "b", {"--port", "7890", "--peer", hosts.address(0) + ":7890"},
                      hosts.exec(1));
  CHECK(a.port == 7890);
  CHECK(b.port == 7890);
  constexpr int kLines = 100;
  std::string from_a, from_b;
  for (int i = 0; i < kLines; ++i) {
    from_a += fmt::format("from a {} 你好\n", i);
    from_b += fmt::format("from b {}\n", i);
  }
  a.process->write_stdin(from_a);
  b.process->write_stdin(from_b);
  CHECK(b.process->wait_for_stdout(
      fmt::format(">>>({}, 7890):from a {} 你好", hosts.address(0), kLines - 1), kWait));
  CHECK(a.process->wait_for_stdout(
      fmt::format(">>>({}, 7890):from b {}", hosts.address(1), kLines - 1), kWait));
  quit_and_check_both_ways(a, b, kLines);
}

TEST_CASE("netns: an unresolvable /peer name is reported and the chat goes on") {
  // In a namespace of its own the resolver reaches no name server (no traffic leaves), so the
  // lookup fails at once instead of asking the real DNS.
  TempDir dir;
  Namespaces host(1, false);
  if (!host.usable()) return skip(host.reason());
  auto chat = start_chat(dir, "a", {"--bind", "127.0.0.1"}, host.exec(0));
  chat.type("/peer nosuch.invalid:7890");
  chat.type("hello?");
  chat.type(fmt::format("/peer 127.0.0.1:{}", chat.port));  // itself: still usable
  chat.type("to myself");
  CHECK(chat.process->wait_for_stdout(fmt::format(">>>(127.0.0.1, {}):to myself", chat.port),
                                      kWait));
  chat.type("/quit");
  chat.finish();
  CHECK(chat.exit_code == 0);
  CAPTURE(chat.stderr_text);
  CHECK(chat.stderr_text.find("cannot use peer nosuch.invalid") != std::string::npos);
  CHECK(chat.summary.count("sent") == 1);
}
