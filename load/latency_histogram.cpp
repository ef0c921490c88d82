#include "load/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace load {

std::size_t LatencyHistogram::bucket_index(std::uint64_t value) noexcept {
  if (value < kSubBuckets) return static_cast<std::size_t>(value);
  const int exponent = std::bit_width(value) - 1;  // floor(log2(value)), ≥ kSubBucketBits
  if (exponent >= kMaxExponent) return kBucketCount - 1;
  const int shift = exponent - kSubBucketBits;
  const std::uint64_t sub = (value >> shift) - kSubBuckets;  // 0 .. kSubBuckets-1
  return static_cast<std::size_t>(kSubBuckets + static_cast<std::uint64_t>(shift) * kSubBuckets +
                                  sub);
}

std::uint64_t LatencyHistogram::bucket_low(std::size_t index) noexcept {
  if (index < kSubBuckets) return index;
  const std::uint64_t shift = (index - kSubBuckets) / kSubBuckets;
  const std::uint64_t sub = (index - kSubBuckets) % kSubBuckets;
  return (kSubBuckets + sub) << shift;
}

std::uint64_t LatencyHistogram::bucket_high(std::size_t index) noexcept {
  if (index < kSubBuckets) return index;
  const std::uint64_t shift = (index - kSubBuckets) / kSubBuckets;
  return bucket_low(index) + (std::uint64_t{1} << shift) - 1;
}

void LatencyHistogram::record(std::uint64_t nanoseconds, std::uint64_t count) noexcept {
  if (count == 0) return;
  counts_[bucket_index(nanoseconds)] += count;
  count_ += count;
  min_ = std::min(min_, nanoseconds);
  max_ = std::max(max_, nanoseconds);
  sum_ += static_cast<long double>(nanoseconds) * static_cast<long double>(count);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void LatencyHistogram::clear() noexcept {
  *this = LatencyHistogram{};
}

std::vector<std::pair<std::size_t, std::uint64_t>> LatencyHistogram::nonzero_buckets() const {
  std::vector<std::pair<std::size_t, std::uint64_t>> out;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    if (counts_[i] != 0) out.emplace_back(i, counts_[i]);
  }
  return out;
}

LatencyHistogram LatencyHistogram::from_buckets(
    const std::vector<std::pair<std::size_t, std::uint64_t>>& buckets, std::uint64_t min,
    std::uint64_t max, long double sum) {
  LatencyHistogram out;
  std::size_t first = kBucketCount, last = 0;
  for (const auto& [index, count] : buckets) {
    if (index >= kBucketCount) throw std::invalid_argument("bucket index out of range");
    if (count == 0) throw std::invalid_argument("bucket with a count of 0");
    out.counts_[index] += count;
    out.count_ += count;
    first = std::min(first, index);
    last = std::max(last, index);
  }
  if (out.count_ == 0) return out;
  // min and max lie in the first and the last bucket that holds values (the last bucket of the
  // range holds everything beyond it).
  if (bucket_index(min) != first || bucket_index(max) != last || min > max) {
    throw std::invalid_argument("min or max outside the buckets");
  }
  out.min_ = min;
  out.max_ = max;
  out.sum_ = sum;
  return out;
}

double LatencyHistogram::mean() const noexcept {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t LatencyHistogram::value_at_quantile(double quantile) const noexcept {
  if (count_ == 0) return 0;
  quantile = std::clamp(quantile, 0.0, 1.0);
  if (quantile == 0.0) return min_;  // exact, like max()
  if (quantile == 1.0) return max_;
  // The rank of the value asked for, 1-based: at least one value, at most all of them.
  auto rank = static_cast<std::uint64_t>(std::ceil(quantile * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    // The last bucket holds everything past the range: its only honest value is the exact max.
    if (seen >= rank) return i + 1 == kBucketCount ? max_ : std::clamp(bucket_high(i), min_, max_);
  }
  return max_;
}

}  // namespace load
