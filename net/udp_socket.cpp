#include "net/udp_socket.h"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <asio/ip/v6_only.hpp>

#include "net/endpoint.h"
#include "net/error.h"

namespace net {

namespace {
constexpr std::size_t kMaxBatch = 64;
}

UdpSocket::UdpSocket(const asio::ip::address& address, std::uint16_t port) : socket_(io_) {
  const asio::ip::udp::endpoint wanted(address, port);
  const auto where = format_endpoint(wanted);
  std::error_code error;
  socket_.open(wanted.protocol(), error);
  if (error) throw_error(error, "socket for", where);
  if (address.is_v6()) socket_.set_option(asio::ip::v6_only(!address.is_unspecified()), error);
  socket_.bind(wanted, error);
  if (error) throw_error(error, "bind", where);
  local_ = socket_.local_endpoint();
  fd_ = socket_.native_handle();
  const int on = 1;
  // The kernel then attaches its running count of datagrams dropped for a full buffer.
  ::setsockopt(fd_, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
}

std::error_code UdpSocket::send_to(std::span<const std::byte> data,
                                   const asio::ip::udp::endpoint& to) {
  asio::ip::udp::endpoint target = to;
  // A dual-stack socket reaches IPv4 peers through their mapped form; an IPv4 socket cannot
  // reach IPv6 peers at all (the kernel says so, and we pass that on).
  if (local_.address().is_v6() && to.address().is_v4()) {
    target = asio::ip::udp::endpoint(
        asio::ip::make_address_v6(asio::ip::v4_mapped, to.address().to_v4()), to.port());
  }
  for (;;) {
    const ssize_t sent = ::sendto(fd_, data.data(), data.size(), MSG_NOSIGNAL, target.data(),
                                  static_cast<socklen_t>(target.size()));
    if (sent >= 0) return {};
    if (errno == EINTR) continue;
    return {errno, std::system_category()};
  }
}

ReceiveResult UdpSocket::receive(std::span<const std::span<std::byte>> buffers,
                                 std::span<Datagram> datagrams) {
  const std::size_t batch = std::min({buffers.size(), datagrams.size(), kMaxBatch});
  ReceiveResult result;
  if (batch == 0) return result;
  mmsghdr headers[kMaxBatch];
  iovec vectors[kMaxBatch];
  sockaddr_storage senders[kMaxBatch];
  alignas(cmsghdr) char controls[kMaxBatch][CMSG_SPACE(sizeof(std::uint32_t))];
  for (;;) {
    if (stop_requested_.load()) {
      result.stopped = true;
      return result;
    }
    std::memset(headers, 0, sizeof(headers[0]) * batch);
    for (std::size_t i = 0; i < batch; ++i) {
      vectors[i] = {buffers[i].data(), buffers[i].size()};
      headers[i].msg_hdr.msg_name = &senders[i];
      headers[i].msg_hdr.msg_namelen = sizeof(senders[i]);
      headers[i].msg_hdr.msg_iov = &vectors[i];
      headers[i].msg_hdr.msg_iovlen = 1;
      headers[i].msg_hdr.msg_control = controls[i];
      headers[i].msg_hdr.msg_controllen = sizeof(controls[i]);
    }
    // MSG_WAITFORONE: block for the first datagram, then take only what is already queued.
    const int got = ::recvmmsg(fd_, headers, static_cast<unsigned>(batch), MSG_WAITFORONE, nullptr);
    // A receive woken by stop() "succeeds" with an empty datagram: the flag decides, and an empty
    // datagram is never taken for an end of stream.
    if (stop_requested_.load()) {
      result.stopped = true;
      return result;
    }
    if (got < 0) {
      if (errno == EINTR) continue;
      // ICMP errors from earlier sends surface here (ECONNREFUSED...): report, keep the socket.
      result.error = std::error_code(errno, std::system_category());
      return result;
    }
    for (int i = 0; i < got; ++i) {
      auto& header = headers[i].msg_hdr;
      auto& datagram = datagrams[static_cast<std::size_t>(i)];
      datagram.size = headers[i].msg_len;
      datagram.truncated = (header.msg_flags & MSG_TRUNC) != 0;
      datagram.sender = asio::ip::udp::endpoint();
      std::memcpy(datagram.sender.data(), &senders[i],
                  std::min<std::size_t>(header.msg_namelen, datagram.sender.capacity()));
      datagram.sender.resize(header.msg_namelen);
      for (cmsghdr* control = CMSG_FIRSTHDR(&header); control != nullptr;
           control = CMSG_NXTHDR(&header, control)) {
        if (control->cmsg_level == SOL_SOCKET && control->cmsg_type == SO_RXQ_OVFL) {
          std::uint32_t drops = 0;
          std::memcpy(&drops, CMSG_DATA(control), sizeof(drops));
          result.kernel_drops = std::max(result.kernel_drops, drops);
        }
      }
    }
    result.count = static_cast<std::size_t>(got);
    return result;
  }
}

void UdpSocket::enable_error_reports() {
  const int on = 1;
  // IPv4 (and the IPv4-mapped traffic of a dual-stack socket) reports through IP_RECVERR.
  ::setsockopt(fd_, SOL_IP, IP_RECVERR, &on, sizeof(on));
  if (local_.address().is_v6()) ::setsockopt(fd_, SOL_IPV6, IPV6_RECVERR, &on, sizeof(on));
}

std::size_t UdpSocket::read_error_reports(std::vector<ErrorReport>& out, std::size_t max) {
  std::size_t read = 0;
  while (read < max) {
    sockaddr_storage destination{};
    alignas(cmsghdr) char control[512];
    char data[1];  // the offending datagram's payload is of no interest; it is truncated
    iovec vector{data, sizeof(data)};
    msghdr header{};
    header.msg_name = &destination;
    header.msg_namelen = sizeof(destination);
    header.msg_iov = &vector;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof(control);
    const ssize_t got = ::recvmsg(fd_, &header, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN: nothing (more) queued
    }
    int error = 0;
    for (cmsghdr* item = CMSG_FIRSTHDR(&header); item != nullptr;
         item = CMSG_NXTHDR(&header, item)) {
      if ((item->cmsg_level == SOL_IP && item->cmsg_type == IP_RECVERR) ||
          (item->cmsg_level == SOL_IPV6 && item->cmsg_type == IPV6_RECVERR)) {
        sock_extended_err extended{};
        std::memcpy(&extended, CMSG_DATA(item), sizeof(extended));
        error = static_cast<int>(extended.ee_errno);
      }
    }
    if (error == 0) continue;  // not an error report (say a timestamp): taken off, skipped
    ErrorReport report;
    std::memcpy(report.destination.data(), &destination,
                std::min<std::size_t>(header.msg_namelen, report.destination.capacity()));
    report.destination.resize(header.msg_namelen);
    report.error = std::error_code(error, std::system_category());
    out.push_back(report);
    ++read;
  }
  return read;
}

void UdpSocket::stop() noexcept {
  stop_requested_.store(true);
  // On an unconnected UDP socket this returns ENOTCONN but still wakes a blocked receive.
  ::shutdown(fd_, SHUT_RDWR);
}

void UdpSocket::set_receive_buffer(int bytes) {
  std::error_code ignored;
  socket_.set_option(asio::socket_base::receive_buffer_size(bytes), ignored);
}

std::error_code UdpSocket::join_group(const asio::ip::address& group) {
  int result = -1;
  if (group.is_v4()) {
    ip_mreqn request{};
    const auto bytes = group.to_v4().to_bytes();
    std::memcpy(&request.imr_multiaddr, bytes.data(), bytes.size());
    request.imr_address.s_addr = htonl(INADDR_ANY);
    request.imr_ifindex = 0;
    // Linux takes IPv4 membership on a dual-stack IPv6 socket as well.
    result = ::setsockopt(fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &request, sizeof(request));
  } else {
    ipv6_mreq request{};
    const auto bytes = group.to_v6().to_bytes();
    std::memcpy(&request.ipv6mr_multiaddr, bytes.data(), bytes.size());
    request.ipv6mr_interface = 0;
    result = ::setsockopt(fd_, IPPROTO_IPV6, IPV6_JOIN_GROUP, &request, sizeof(request));
  }
  if (result == 0) return {};
  return {errno, std::system_category()};
}

void UdpSocket::set_link_local_multicast() {
  const int one = 1, off = 0;
  // IPv4 options also govern the IPv4 datagrams of a dual-stack socket.
  ::setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_TTL, &one, sizeof(one));
  ::setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof(off));
  if (local_.address().is_v6()) {
    ::setsockopt(fd_, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &one, sizeof(one));
    ::setsockopt(fd_, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof(off));
  }
}

}  // namespace net
