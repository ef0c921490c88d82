#include "tests/support/netns.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <regex>

#include <fmt/format.h>

#include "tests/support/process.h"

namespace testing_support {
namespace {

bool quietly(const std::string& command) {
  return run_command(command + " >/dev/null 2>&1").exit_code == 0;
}

}  // namespace

NetworkNamespaces::NetworkNamespaces(int count, bool link) {
  // The process id keeps parallel test processes apart, the serial number two objects of one
  // process; interface names must fit in 15 characters.
  static std::atomic<int> serial{0};
  const int id = static_cast<int>(::getpid() % 100000);
  const int n = serial.fetch_add(1) % 10;
  for (int i = 0; i < count; ++i) names_.push_back(fmt::format("chat{}-{}-{}", id, n, i));
  veth_ = {fmt::format("vc{}{}a", id, n), fmt::format("vc{}{}b", id, n)};
  subnet_ = fmt::format("10.231.{}", (id * 10 + n) % 250);
  if (::geteuid() != 0) {
    reason_ = "not root: ip netns add needs CAP_SYS_ADMIN";
    return;
  }
  for (const auto& name : names_) {
    if (!quietly("ip netns add " + name)) {
      reason_ = "ip netns add failed here (no permission for network namespaces?)";
      return;
    }
    created_.push_back(name);
    quietly("ip -n " + name + " link set lo up");
  }
  if (link && count >= 2) {
    const bool ok =
        quietly(fmt::format("ip link add {} netns {} type veth peer name {} netns {}", veth_[0],
                            names_[0], veth_[1], names_[1])) &&
        quietly(fmt::format("ip -n {} addr add {}.1/24 dev {}", names_[0], subnet_, veth_[0])) &&
        quietly(fmt::format("ip -n {} addr add {}.2/24 dev {}", names_[1], subnet_, veth_[1])) &&
        quietly(fmt::format("ip -n {} link set {} up", names_[0], veth_[0])) &&
        quietly(fmt::format("ip -n {} link set {} up", names_[1], veth_[1]));
    if (!ok) reason_ = "could not set up the veth pair between the namespaces";
  }
}

NetworkNamespaces::~NetworkNamespaces() {
  for (const auto& name : created_) quietly("ip netns del " + name);
}

std::vector<std::string> NetworkNamespaces::exec(int i) const {
  return {"/usr/sbin/ip", "netns", "exec", names_[i]};
}

std::string NetworkNamespaces::shell(int i) const {
  return "ip netns exec " + names_[i] + " ";
}

std::string NetworkNamespaces::address(int i) const {
  return fmt::format("{}.{}", subnet_, i + 1);
}

bool NetworkNamespaces::route_multicast() {
  for (int i = 0; i < 2; ++i) {
    if (!quietly(fmt::format("ip -n {} route add 224.0.0.0/4 dev {}", names_[i], veth_[i]))) {
      reason_ = "could not route 224.0.0.0/4 over the veth pair";
      return false;
    }
  }
  return true;
}

LossRule::LossRule(const std::string& ns, int port, int percent) : ns_(ns) {
  const std::string nft = "ip netns exec " + ns + " nft ";
  installed_ = quietly(nft + "add table inet loss");
  const bool ok =
      installed_ &&
      quietly(
          nft +
          "'add chain inet loss input { type filter hook input priority 0; policy accept; }'") &&
      quietly(fmt::format("{}add rule inet loss input udp dport {} numgen random mod 100 '<' {} "
                          "counter drop",
                          nft, port, percent));
  if (!ok) reason_ = "nft could not add a loss rule in the namespace (nftables missing?)";
}

long long LossRule::dropped() const {
  if (!installed_) return -1;
  const auto listing = run_command("ip netns exec " + ns_ + " nft list table inet loss");
  static const std::regex counter(R"(counter packets (\d+))");
  std::smatch match;
  if (listing.exit_code != 0 || !std::regex_search(listing.output, match, counter)) return -1;
  return std::stoll(match[1].str());
}

void LossRule::remove() {
  if (!installed_) return;
  quietly("ip netns exec " + ns_ + " nft delete table inet loss");
  installed_ = false;
}

void skip(const std::string& why) {
  std::fprintf(stderr, "SKIPPED: %s\n", why.c_str());
  MESSAGE("SKIPPED: " << why);
}

}  // namespace testing_support
