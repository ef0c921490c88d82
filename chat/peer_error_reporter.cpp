#include "chat/peer_error_reporter.h"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "net/endpoint.h"

namespace chat {

PeerErrorReporter::PeerErrorReporter(int fd, bool ipv6, std::string program, std::FILE* errors)
    : fd_(fd), program_(std::move(program)), errors_(errors) {
  const int on = 1;
  // IPv4 (and IPv4-mapped traffic of a dual-stack socket) reports through IP_RECVERR.
  ::setsockopt(fd_, SOL_IP, IP_RECVERR, &on, sizeof(on));
  if (ipv6) ::setsockopt(fd_, SOL_IPV6, IPV6_RECVERR, &on, sizeof(on));
}

void PeerErrorReporter::drain() {
  std::lock_guard lock(mutex_);
  // Bounded: the queue is finite, but never let a misbehaving kernel keep us here.
  for (int round = 0; round < 1024; ++round) {
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
      return;  // EAGAIN: nothing (more) queued
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
    if (error == 0) continue;
    asio::ip::udp::endpoint where;
    std::memcpy(where.data(), &destination,
                std::min<std::size_t>(header.msg_namelen, where.capacity()));
    where.resize(header.msg_namelen);
    const auto now = std::chrono::steady_clock::now();
    if (where == last_destination_ && error == last_error_ &&
        now - last_time_ < std::chrono::seconds(1)) {
      continue;
    }
    last_destination_ = where;
    last_error_ = error;
    last_time_ = now;
    ++reported_;
    const auto peer = net::format_endpoint(where);
    if (error == ECONNREFUSED) {
      fmt::print(errors_, "{}: {} is not listening (ICMP port unreachable); the chat goes on\n",
                 program_, peer);
    } else {
      fmt::print(errors_, "{}: sending to {} failed: {}; the chat goes on\n", program_, peer,
                 std::error_code(error, std::system_category()).message());
    }
    std::fflush(errors_);
  }
}

}  // namespace chat
