// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A latency histogram of fixed size, for the daemon's own timing of what it does per
// connection and per press (shown by `dashctl status --json`).

#include <array>
#include <chrono>
#include <cstdint>

namespace dashctl::util {

/// Counts durations in buckets that are exact below 16 ns and, above, 16 to a power of
/// two (so a bucket is at most 1/16 wider than its lower bound): a quantile read from it is
/// at most 6.25% above the true value. Durations of 2^40 ns (18 minutes) and more share a
/// last bucket, whose quantile is the maximum. Adding is a few instructions and never allocates.
class Histogram {
 public:
  void add(std::chrono::nanoseconds d);

  uint64_t count() const { return count_; }
  /// The longest duration added (exact), 0 when none was.
  std::chrono::nanoseconds max() const { return std::chrono::nanoseconds(max_); }
  /// The upper bound of the bucket holding the q-quantile (0 < q <= 1), never more than
  /// max(); 0 when nothing was added.
  std::chrono::nanoseconds quantile(double q) const;

 private:
  static constexpr int kSub = 16;           ///< buckets per power of two
  static constexpr int kPowers = 40 - 4;    ///< 2^4 .. 2^40 ns
  static constexpr int kBuckets = kSub + kPowers * kSub + 1;  ///< the last: 2^40 ns and more
  static int bucket(uint64_t ns);
  static uint64_t upper(int bucket);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace dashctl::util
