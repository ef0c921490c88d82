// The /peer lookup on its own thread: an answer comes back to the caller, and a caller that is
// stopped does not start one. Literal addresses only, so no name server is asked; a lookup that
// hangs in a name server is the netns test's ("SIGINT during a /peer lookup ...").
#include <doctest/doctest.h>

#include <chrono>
#include <stop_token>

#include "chat/peer_resolver.h"
#include "net/endpoint.h"

using namespace std::chrono_literals;

TEST_CASE("peer resolver: a lookup answers its caller, one after another") {
  chat::PeerResolver resolver;
  std::stop_source never;
  for (int i = 0; i < 3; ++i) {
    const auto found = resolver.resolve(net::HostPort{"127.0.0.1", 7890}, never.get_token());
    REQUIRE(found.has_value());
    REQUIRE(found->size() == 1);
    CHECK(found->front() == asio::ip::udp::endpoint(net::parse_address("127.0.0.1"), 7890));
    CHECK(resolver.finished_within(0ms));
  }
}

TEST_CASE("peer resolver: a stopped caller gets no answer and starts no lookup") {
  chat::PeerResolver resolver;
  std::stop_source stopped;
  stopped.request_stop();
  CHECK_FALSE(resolver.resolve(net::HostPort{"::1", 7890}, stopped.get_token()).has_value());
  CHECK(resolver.finished_within(0ms));
}
