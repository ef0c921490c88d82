// Unit: how the listener sorts accept(2)'s errors, which decides whether one failed accept is
// retried at once, pauses the accept loop, or ends the server; and sharing a port with
// Options::reuse_port.
#include <doctest/doctest.h>

#include <cerrno>
#include <system_error>

#include <asio/error.hpp>

#include "net/endpoint.h"
#include "net/error.h"
#include "net/tcp_listener.h"

using net::AcceptFailure;
using net::classify_accept_error;

namespace {

AcceptFailure classify(int errno_value) {
  return classify_accept_error(std::error_code(errno_value, std::system_category()));
}

}  // namespace

TEST_CASE("accept errors about the one connection being taken are retried at once") {
  for (const int error : {EAGAIN, EWOULDBLOCK, ECONNABORTED, EINTR, EPROTO, ENETDOWN, ENOPROTOOPT,
                          EHOSTDOWN, ENONET, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT}) {
    CAPTURE(error);
    CHECK(classify(error) == AcceptFailure::retry_now);
  }
}

TEST_CASE("out of descriptors or kernel memory, the accept loop pauses") {
  for (const int error : {EMFILE, ENFILE, ENOBUFS, ENOMEM}) {
    CAPTURE(error);
    CHECK(classify(error) == AcceptFailure::out_of_resources);
  }
}

TEST_CASE("only errors that mean the listening socket is broken end the server") {
  for (const int error : {EBADF, EINVAL, ENOTSOCK, EFAULT, EOPNOTSUPP}) {
    CAPTURE(error);
    CHECK(classify(error) == AcceptFailure::listener_broken);
  }
}

TEST_CASE("any other accept error, such as EPERM from a security policy, pauses and retries") {
  // EPERM: "firewall rules forbid connection" (accept(2)), a seccomp filter or a security module;
  // EACCES from a security module; the rest are errors accept(2) says various kernels return.
  for (const int error : {EPERM, EACCES, ENOSR, ESOCKTNOSUPPORT, EPROTONOSUPPORT, EIO, ENOSPC}) {
    CAPTURE(error);
    CHECK(classify(error) == AcceptFailure::unexpected);
  }
}

TEST_CASE("Asio's error codes are sorted by their errno, like the system's") {
  CHECK(classify_accept_error(asio::error::connection_aborted) == AcceptFailure::retry_now);
  CHECK(classify_accept_error(asio::error::no_descriptors) == AcceptFailure::out_of_resources);
  CHECK(classify_accept_error(asio::error::bad_descriptor) == AcceptFailure::listener_broken);
  CHECK(classify_accept_error(asio::error::no_permission) == AcceptFailure::unexpected);
  // Not an errno at all: neither retried at once (it could spin) nor fatal.
  CHECK(classify_accept_error(asio::error::already_open) == AcceptFailure::unexpected);
}

TEST_CASE("listeners with reuse_port share one port and a listener without it cannot join") {
  const auto loopback = net::parse_address("127.0.0.1");
  const net::TcpListener::Options sharing{.reuse_port = true};
  net::TcpListener first(loopback, 0, sharing);
  const auto port = first.local_endpoint().port();
  net::TcpListener second(loopback, port, sharing);
  CHECK(second.local_endpoint().port() == port);
  CHECK_THROWS_AS(net::TcpListener(loopback, port), net::Error);
}
