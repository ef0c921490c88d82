#pragma once

// Two machines on one: network namespaces with unique names, a veth pair between the first two,
// an address on each end, multicast routed over the pair, and random loss of incoming UDP from
// nftables inside one namespace. Needs root (ip netns add); where that is not permitted the
// objects say why (reason()) and tests skip with that line. See docs/design.md, "Testing on two
// hosts".
//
// Threading: a NetworkNamespaces or a LossRule is used from the test's thread only (it runs ip
// and nft as child processes, one at a time); skip() may be called from any thread.

#include <string>
#include <vector>

namespace testing_support {

// `count` network namespaces, each with its loopback up, and, with `link`, a veth pair between
// namespace 0 and namespace 1 addressed SUBNET.1/24 and SUBNET.2/24. Names are unique per
// process and object (tests run in parallel), and every namespace made is deleted on destruction,
// also when a check failed; the veth pair goes with its namespaces.
class NetworkNamespaces {
 public:
  NetworkNamespaces(int count, bool link);
  ~NetworkNamespaces();
  NetworkNamespaces(const NetworkNamespaces&) = delete;
  NetworkNamespaces& operator=(const NetworkNamespaces&) = delete;

  // Whether every step worked; otherwise reason() is one line saying what did not.
  bool usable() const { return reason_.empty(); }
  const std::string& reason() const { return reason_; }

  // The prefix that runs a program inside namespace `i`: {"/usr/sbin/ip", "netns", "exec", NS}.
  std::vector<std::string> exec(int i) const;
  // The same as a shell command prefix: "ip netns exec NS ".
  std::string shell(int i) const;
  // Namespace i's IPv4 address on the veth pair ("10.231.7.1").
  std::string address(int i) const;
  const std::string& name(int i) const { return names_[i]; }
  // Namespace i's end of the veth pair.
  const std::string& veth(int i) const { return veth_[i]; }

  // Routes IPv4 multicast (224.0.0.0/4) out of each end of the veth pair, so a datagram sent to a
  // group (TTL 1) reaches the other namespace: there is no default route to carry it otherwise.
  // IPv6 link-local multicast (ff02::/16) needs nothing: every interface routes it. False (and
  // reason() set) when ip refused.
  bool route_multicast();

 private:
  std::vector<std::string> names_;
  std::vector<std::string> created_;
  std::vector<std::string> veth_;
  std::string subnet_;
  std::string reason_;
};

// Drops `percent` of the UDP datagrams arriving in namespace `ns` for port `port`, at random:
// an nftables table of its own ("inet loss", one input chain, `numgen random mod 100 < P drop`).
// remove() (also the destructor) deletes the table, after which nothing more is dropped.
class LossRule {
 public:
  LossRule(const std::string& ns, int port, int percent);
  ~LossRule() { remove(); }
  LossRule(const LossRule&) = delete;
  LossRule& operator=(const LossRule&) = delete;

  bool usable() const { return reason_.empty(); }
  const std::string& reason() const { return reason_; }
  // Datagrams the rule dropped so far (its counter), or -1 when it cannot be read.
  long long dropped() const;
  // Deletes the table; idempotent.
  void remove();

 private:
  std::string ns_;
  bool installed_ = false;
  std::string reason_;
};

// Prints "SKIPPED: why" on stderr (ctest's log) and as a doctest message.
void skip(const std::string& why);

}  // namespace testing_support
