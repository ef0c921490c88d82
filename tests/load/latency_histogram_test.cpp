#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "load/latency_histogram.h"

using load::LatencyHistogram;

TEST_CASE("histogram: values below 128 ns are exact, each bucket holds what its bounds say") {
  for (std::uint64_t v = 0; v < 128; ++v) {
    CHECK(LatencyHistogram::bucket_index(v) == v);
    CHECK(LatencyHistogram::bucket_low(v) == v);
    CHECK(LatencyHistogram::bucket_high(v) == v);
  }
  // Every bucket is contiguous with the next, and values map back into their own bucket.
  for (std::size_t i = 0; i + 1 < LatencyHistogram::kBucketCount; ++i) {
    REQUIRE(LatencyHistogram::bucket_high(i) + 1 == LatencyHistogram::bucket_low(i + 1));
    REQUIRE(LatencyHistogram::bucket_index(LatencyHistogram::bucket_low(i)) == i);
    REQUIRE(LatencyHistogram::bucket_index(LatencyHistogram::bucket_high(i)) == i);
  }
}

TEST_CASE("histogram: resolution is at most 1 us up to 100 us and under 1% everywhere") {
  for (std::size_t i = 0; i < LatencyHistogram::kBucketCount; ++i) {
    const auto low = LatencyHistogram::bucket_low(i);
    const auto width = LatencyHistogram::bucket_high(i) - low + 1;
    if (low < 100'000) CHECK(width <= 1000);
    if (low >= 128) CHECK(static_cast<double>(width) / static_cast<double>(low) <= 1.0 / 128);
  }
}

TEST_CASE("histogram: range covers at least 60 s, and larger values keep an exact max") {
  const std::uint64_t minute = 60'000'000'000ULL;
  CHECK(LatencyHistogram::bucket_index(minute) < LatencyHistogram::kBucketCount - 1);
  LatencyHistogram h;
  h.record(minute);
  const auto p = h.value_at_quantile(0.5);
  CHECK(p == minute);  // clamped to max, which is exact
  const std::uint64_t hour = 3600ULL * 1'000'000'000ULL;
  CHECK(LatencyHistogram::bucket_index(hour) == LatencyHistogram::kBucketCount - 1);
  h.record(hour);
  CHECK(h.max() == hour);
  CHECK(h.value_at_quantile(1.0) == hour);
}

TEST_CASE("histogram: percentiles of 1..10000 us are within one bucket of the true value") {
  LatencyHistogram h;
  for (std::uint64_t us = 1; us <= 10'000; ++us) h.record(us * 1000);
  CHECK(h.count() == 10'000);
  CHECK(h.min() == 1000);
  CHECK(h.max() == 10'000'000);
  const auto near = [](std::uint64_t got, std::uint64_t want) {
    const double error =
        (static_cast<double>(got) - static_cast<double>(want)) / static_cast<double>(want);
    return error >= 0 && error <= 1.0 / 128;  // the upper edge of the bucket: never below
  };
  CHECK(near(h.value_at_quantile(0.50), 5'000'000));
  CHECK(near(h.value_at_quantile(0.90), 9'000'000));
  CHECK(near(h.value_at_quantile(0.99), 9'900'000));
  CHECK(near(h.value_at_quantile(0.999), 9'990'000));
  CHECK(h.value_at_quantile(1.0) == 10'000'000);
  CHECK(h.value_at_quantile(0.0) == 1000);
  CHECK(h.mean() == doctest::Approx(5'000'500.0));
}

TEST_CASE("histogram: the nearest-rank definition on small exact samples") {
  LatencyHistogram h;
  for (std::uint64_t v : {10, 20, 30, 40, 50, 60, 70, 80, 90, 100}) h.record(v);
  CHECK(h.value_at_quantile(0.5) == 50);   // rank 5
  CHECK(h.value_at_quantile(0.51) == 60);  // rank 6
  CHECK(h.value_at_quantile(0.9) == 90);
  CHECK(h.value_at_quantile(0.99) == 100);
  LatencyHistogram empty;
  CHECK(empty.value_at_quantile(0.99) == 0);
  CHECK(empty.min() == 0);
  CHECK(empty.max() == 0);
  CHECK(empty.mean() == 0.0);
}

TEST_CASE("histogram: merging per-thread histograms equals recording everything in one") {
  std::mt19937_64 random(42);
  std::lognormal_distribution<double> latency(10.0, 1.5);  // around 22 us, long tail
  LatencyHistogram all, a, b, c;
  LatencyHistogram* parts[] = {&a, &b, &c};
  for (int i = 0; i < 30'000; ++i) {
    const auto v = static_cast<std::uint64_t>(latency(random));
    all.record(v);
    parts[i % 3]->record(v);
  }
  LatencyHistogram merged;
  for (auto* part : parts) merged.merge(*part);
  merged.merge(LatencyHistogram{});  // merging an empty one changes nothing
  CHECK(merged.count() == all.count());
  CHECK(merged.min() == all.min());
  CHECK(merged.max() == all.max());
  for (double q : {0.0, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    CHECK(merged.value_at_quantile(q) == all.value_at_quantile(q));
  }
  merged.clear();
  CHECK(merged.count() == 0);
}

TEST_CASE("histogram: percentiles against a sorted sample (random data)") {
  std::mt19937_64 random(7);
  std::uniform_int_distribution<std::uint64_t> value(0, 5'000'000'000ULL);
  std::vector<std::uint64_t> sample(5000);
  LatencyHistogram h;
  for (auto& v : sample) {
    v = value(random);
    h.record(v);
  }
  std::sort(sample.begin(), sample.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * 5000.0));
    const auto exact = sample[rank - 1];
    const auto got = h.value_at_quantile(q);
    CHECK(got >= exact);
    CHECK(static_cast<double>(got - exact) <= static_cast<double>(exact) / 128.0 + 1);
  }
}

TEST_CASE("histogram: rebuilt from its saved buckets, two runs merge into the union's histogram") {
  std::mt19937_64 random(11);
  std::lognormal_distribution<double> fast(9.0, 1.0), slow(12.0, 2.0);
  LatencyHistogram a, b, all;
  for (int i = 0; i < 20'000; ++i) {
    const auto va = static_cast<std::uint64_t>(fast(random));
    const auto vb = static_cast<std::uint64_t>(slow(random));
    a.record(va);
    b.record(vb);
    all.record(va);
    all.record(vb);
  }
  const auto rebuild = [](const LatencyHistogram& h) {
    return LatencyHistogram::from_buckets(h.nonzero_buckets(), h.min(), h.max(), h.sum());
  };
  LatencyHistogram merged = rebuild(a);
  merged.merge(rebuild(b));
  CHECK(merged.count() == all.count());
  CHECK(merged.min() == all.min());
  CHECK(merged.max() == all.max());
  CHECK(merged.nonzero_buckets() == all.nonzero_buckets());
  CHECK(merged.mean() == doctest::Approx(all.mean()));
  for (double q : {0.0, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    CAPTURE(q);
    CHECK(merged.value_at_quantile(q) == all.value_at_quantile(q));
  }
  // An empty histogram survives the trip; nonsense is refused.
  CHECK(rebuild(LatencyHistogram{}).count() == 0);
  CHECK_THROWS_AS(LatencyHistogram::from_buckets({{LatencyHistogram::kBucketCount, 1}}, 0, 0, 0),
                  std::invalid_argument);
  CHECK_THROWS_AS(LatencyHistogram::from_buckets({{5, 0}}, 5, 5, 0), std::invalid_argument);
  CHECK_THROWS_AS(LatencyHistogram::from_buckets({{5, 1}}, 6, 6, 6), std::invalid_argument);
}
