// The run's once-a-second beat, on made-up time points (no clock is read, nothing sleeps).
#include <doctest/doctest.h>

#include <chrono>

#include "load/ticker.h"

using namespace std::chrono_literals;
using load::Ticker;

TEST_CASE("ticker: ticks once on each whole second after the start, never before") {
  const Ticker::Clock::time_point start{100s};
  Ticker ticker(start);
  CHECK(ticker.next() == start + 1s);
  CHECK_FALSE(ticker.take(start));
  CHECK_FALSE(ticker.take(start + 999ms));
  CHECK(ticker.take(start + 1s));
  CHECK_FALSE(ticker.take(start + 1s));  // taken: not again at the same instant
  CHECK(ticker.next() == start + 2s);
  CHECK(ticker.take(start + 2s + 10ms));  // a little late: the beat stays on whole seconds
  CHECK(ticker.next() == start + 3s);
}

TEST_CASE("ticker: a late tick is taken once and the missed ones are skipped") {
  const Ticker::Clock::time_point start{0s};
  Ticker ticker(start);
  CHECK(ticker.take(start + 3500ms));  // 1 s, 2 s and 3 s were due: one tick
  CHECK(ticker.next() == start + 4s);
  CHECK_FALSE(ticker.take(start + 3600ms));
  CHECK(ticker.take(start + 4s));
}

TEST_CASE("ticker: polled every 10 ms for 5 s, it ticks exactly 5 times") {
  const Ticker::Clock::time_point start{0s};
  Ticker ticker(start);
  int ticks = 0;
  for (auto now = start; now <= start + 5s; now += 10ms) {  // 501 steps
    if (ticker.take(now)) ++ticks;
  }
  CHECK(ticks == 5);
  CHECK(ticker.next() == start + 6s);
}

TEST_CASE("ticker: another period keeps the same rule") {
  const Ticker::Clock::time_point start{0s};
  Ticker ticker(start, 250ms);
  CHECK_FALSE(ticker.take(start + 249ms));
  CHECK(ticker.take(start + 700ms));
  CHECK(ticker.next() == start + 750ms);
}
