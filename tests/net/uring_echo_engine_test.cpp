#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "net/uring_echo_engine.h"

using namespace std::chrono_literals;

TEST_CASE("a kernel that refuses io_uring is named as such, with the engine to use instead") {
  for (const int error : {EPERM, EACCES, ENOSYS}) {
    CAPTURE(error);
    CHECK(net::uring_setup_failure(error) ==
          "io_uring engine: the kernel refuses io_uring (use --engine async)");
  }
}

TEST_CASE("any other ring setup failure is not blamed on a refusing kernel") {
  const auto line = net::uring_setup_failure(ENOMEM);
  CHECK(line.find("refuses") == std::string::npos);
  CHECK(line.find("--engine async") != std::string::npos);
}

TEST_CASE("the idle tick is a quarter of the timeout, kept between 10 ms and 1 s") {
  CHECK(net::uring_idle_tick(2000ms) == 500ms);
  CHECK(net::uring_idle_tick(1ms) == 10ms);
  CHECK(net::uring_idle_tick(0ms) == 10ms);
  CHECK(net::uring_idle_tick(1h) == 1000ms);
}
