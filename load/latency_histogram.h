#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace load {

// Latencies in nanoseconds, in a log-linear (HdrHistogram-style) histogram: values below 128 ns
// are kept exactly; above, each power of two is split into 128 equal buckets, so a value is known
// to within 1/128 (< 0.8 %) of itself. At 1 µs a bucket is 4 ns wide (≤ 1 µs resolution at the
// bottom, as the load test needs); the range goes to 2^40 ns (about 18 minutes, well past 60 s)
// and larger values land in the last bucket while max() stays exact. 4,352 counters, about 34 KiB.
//
// Threading: a plain value, not synchronised. Each thread records into its own histogram; merge()
// them on one thread after the recording threads have handed theirs over (under the caller's lock).
class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;  // 128 buckets per power of two
  static constexpr std::uint64_t kSubBuckets = 1u << kSubBucketBits;
  static constexpr int kMaxExponent = 40;  // range: [0, 2^40) ns
  static constexpr std::size_t kBucketCount =
      kSubBuckets + (kMaxExponent - kSubBucketBits) * kSubBuckets;

  // Counts one value (`count` times).
  void record(std::uint64_t nanoseconds, std::uint64_t count = 1) noexcept;
  // Adds every value of `other` to this one (thread-merge). Equivalent to recording them here.
  void merge(const LatencyHistogram& other) noexcept;
  void clear() noexcept;

  std::uint64_t count() const noexcept { return count_; }
  // 0 when empty.
  std::uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const noexcept { return max_; }
  double mean() const noexcept;

  // The smallest recorded value v such that at least `quantile` of all values are at most v,
  // reported as the upper edge of v's bucket (never above max() nor below min()). quantile in
  // [0, 1]; 0 when empty. value_at_quantile(0.99) is p99; 0.0 gives min() and 1.0 max(), both
  // exact.
  std::uint64_t value_at_quantile(double quantile) const noexcept;

  // The buckets that hold values, as (index, count) pairs in index order, and the exact sum of
  // all values: what a report keeps so that runs can be merged (docs/json.md).
  std::vector<std::pair<std::size_t, std::uint64_t>> nonzero_buckets() const;
  long double sum() const noexcept { return sum_; }
  // The histogram nonzero_buckets(), min(), max() and sum() describe: merging two such rebuilt
  // histograms equals merging the originals. Throws std::invalid_argument for an index out of
  // range, a count of 0, or a min/max outside the buckets.
  static LatencyHistogram from_buckets(
      const std::vector<std::pair<std::size_t, std::uint64_t>>& buckets, std::uint64_t min,
      std::uint64_t max, long double sum);

  // Bucket maths, public for tests: the bucket holding `value`, and the range [low, high] of values
  // a bucket holds.
  static std::size_t bucket_index(std::uint64_t value) noexcept;
  static std::uint64_t bucket_low(std::size_t index) noexcept;
  static std::uint64_t bucket_high(std::size_t index) noexcept;

 private:
  std::array<std::uint64_t, kBucketCount> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  long double sum_ = 0;  // for the mean; long double keeps 10^12 ns-scale sums exact enough
};

}  // namespace load
