// Two machines as two network namespaces joined by a veth pair, each with its own address, and a
// udp-chat on port 7890 in each (tests/support/netns.h); and a namespace whose name server never
// answers. Needs root (ip netns add); skips with a printed reason elsewhere. Namespaces get unique
// names and are always deleted, also when a check fails.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "tests/chat/chat_harness.h"
#include "tests/support/eventually.h"
#include "tests/support/netns.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

using namespace chat_test;
using namespace testing_support;

namespace {

// Inside namespace `name`, a name server that never answers: its address is reached over a veth
// pair that ends in the same namespace, through a fixed neighbour entry with a MAC address no
// device has, so every query leaves and is dropped unseen (no ARP, no ICMP back). `ip netns exec`
// bind-mounts the files of /etc/netns/NAME/ over /etc, so programs started that way ask only
// that server, through the plain "files dns" lookup. The folder is removed on destruction; the
// veth pair goes with the namespace.
class SilentNameServer {
 public:
  explicit SilentNameServer(const std::string& name) : etc_("/etc/netns/" + name) {
    const bool ok =
        run(fmt::format("ip -n {} link add silent0 type veth peer name silent1", name)) &&
        run(fmt::format("ip -n {} addr add 198.18.0.1/24 dev silent0", name)) &&
        run(fmt::format("ip -n {} link set silent0 up", name)) &&
        run(fmt::format("ip -n {} link set silent1 up", name)) &&
        run(fmt::format("ip -n {} neigh add 198.18.0.53 lladdr 02:00:00:00:00:53 dev silent0 "
                        "nud permanent",
                        name));
    if (!ok) {
      reason_ = "could not route to a silent name server in the namespace";
      return;
    }
    std::error_code error;
    made_parent_ = std::filesystem::create_directory(etc_.parent_path(), error);
    created_ = !error && std::filesystem::create_directory(etc_, error) && !error;
    // Two tries of 5 s each (glibc's defaults, said outright): a lookup takes 10 s to fail.
    const bool written = created_ &&
                         write_file(etc_ / "resolv.conf",
                                    "nameserver 198.18.0.53\noptions timeout:5 attempts:2\n") &&
                         write_file(etc_ / "nsswitch.conf", "hosts: files dns\n");
    if (!written) reason_ = "could not write " + etc_.string();
  }
  ~SilentNameServer() {
    std::error_code ignored;
    if (created_) std::filesystem::remove_all(etc_, ignored);
    if (made_parent_) std::filesystem::remove(etc_.parent_path(), ignored);  // only if empty
  }
  SilentNameServer(const SilentNameServer&) = delete;
  SilentNameServer& operator=(const SilentNameServer&) = delete;

  bool usable() const { return reason_.empty(); }
  const std::string& reason() const { return reason_; }
  // The server's address as /proc/net/udp shows a socket's remote end ("350012C6:0035").
  static std::string proc_net_udp_address() {
    in_addr address{};
    ::inet_pton(AF_INET, "198.18.0.53", &address);
    return fmt::format("{:08X}:{:04X}", address.s_addr, 53);
  }

 private:
  static bool run(const std::string& command) {
    return run_command(command + " >/dev/null 2>&1").exit_code == 0;
  }
  static bool write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    out.flush();
    return static_cast<bool>(out);
  }
  std::filesystem::path etc_;
  bool made_parent_ = false;  // /etc/netns did not exist before
  bool created_ = false;
  std::string reason_;
};

}  // namespace

TEST_CASE("netns: two hosts chat both ways on port 7890 across a veth pair") {
  TempDir dir;
  NetworkNamespaces hosts(2, true);  // before the chats: deleted after they are gone
  if (!hosts.usable()) return skip(hosts.reason());
  auto a =
      start_chat(dir, "a", {"--port", "7890", "--peer", hosts.address(1) + ":7890"}, hosts.exec(0));
  auto b =
      start_chat(dir, "b", {"--port", "7890", "--peer", hosts.address(0) + ":7890"}, hosts.exec(1));
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
  NetworkNamespaces host(1, false);
  if (!host.usable()) return skip(host.reason());
  auto chat = start_chat(dir, "a", {"--bind", "127.0.0.1"}, host.exec(0));
  chat.type("/peer nosuch.invalid:7890");
  chat.type("hello?");
  chat.type(fmt::format("/peer 127.0.0.1:{}", chat.port));  // itself: still usable
  chat.type("to myself");
  CHECK(
      chat.process->wait_for_stdout(fmt::format(">>>(127.0.0.1, {}):to myself", chat.port), kWait));
  chat.type("/quit");
  chat.finish();
  CHECK(chat.exit_code == 0);
  CAPTURE(chat.stderr_text);
  CHECK(chat.stderr_text.find("cannot use peer nosuch.invalid") != std::string::npos);
  CHECK(chat.summary.count("sent") == 1);
}

TEST_CASE("netns: SIGINT during a /peer lookup that no name server answers stops at once") {
  TempDir dir;
  NetworkNamespaces host(1, false);
  if (!host.usable()) return skip(host.reason());
  SilentNameServer silent(host.name(0));
  if (!silent.usable()) return skip(silent.reason());
  // The setup holds a lookup: one outside the chat gets no answer within a second.
  const auto probe = run_command(fmt::format(
      "timeout 1 ip netns exec {} getent ahosts some.name.invalid >/dev/null 2>&1", host.name(0)));
  if (probe.exit_code != 124) return skip("the namespace's resolver answered at once");

  auto chat = start_chat(dir, "a", {"--bind", "127.0.0.1"}, host.exec(0));
  chat.type("/peer some.name.invalid:7890");
  // The lookup runs once the resolver's socket to the silent server exists (the namespace holds
  // no other program); only then the stop can find it waiting.
  const auto udp_table = fmt::format("/proc/{}/net/udp", chat.process->pid());
  const auto asking = [&] {
    std::ifstream table(udp_table);
    const std::string text((std::istreambuf_iterator<char>(table)),
                           std::istreambuf_iterator<char>());
    return text.find(SilentNameServer::proc_net_udp_address()) != std::string::npos;
  };
  REQUIRE(eventually(asking, kWait));
  std::this_thread::sleep_for(300ms);
  chat.process->signal(SIGINT);
  // Well before the lookup's 10 s; not a measure of speed, a bound on waiting for getaddrinfo.
  chat.exit_code = chat.process->wait(3s);
  REQUIRE(chat.exit_code.has_value());
  chat.stderr_text = chat.process->read_all_stderr(5s);
  chat.summary = testing_support::Summary::parse(chat.stderr_text);
  CAPTURE(chat.stderr_text);
  CHECK(chat.exit_code == 0);
  CHECK(chat.summary.found());
  CHECK(chat.stderr_text.find("cannot use peer") == std::string::npos);  // it gave up, silently
}
