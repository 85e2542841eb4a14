// SPDX-License-Identifier: GPL-2.0-or-later
#include "util/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace dashctl::util {

int Histogram::bucket(uint64_t ns) {
  if (ns < kSub) return static_cast<int>(ns);
  const int power = static_cast<int>(std::bit_width(ns)) - 1;  // 2^power <= ns < 2^(power+1), power >= 4
  if (power >= 4 + kPowers) return kBuckets - 1;
  const int sub = static_cast<int>((ns >> (power - 4)) & (kSub - 1));
  return kSub + (power - 4) * kSub + sub;
}

uint64_t Histogram::upper(int b) {
  if (b < kSub) return static_cast<uint64_t>(b);
  const int power = 4 + (b - kSub) / kSub;
  const uint64_t sub = static_cast<uint64_t>((b - kSub) % kSub);
  // The bucket holds [2^power + sub*w, 2^power + (sub+1)*w) with w = 2^(power-4).
  return (uint64_t{1} << power) + (sub + 1) * (uint64_t{1} << (power - 4)) - 1;
}

void Histogram::add(std::chrono::nanoseconds d) {
  const uint64_t ns = d.count() < 0 ? 0 : static_cast<uint64_t>(d.count());
  ++counts_[static_cast<size_t>(bucket(ns))];
  ++count_;
  max_ = std::max(max_, ns);
}

std::chrono::nanoseconds Histogram::quantile(double q) const {
  if (count_ == 0) return std::chrono::nanoseconds(0);
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the q-quantile, 1-based: the smallest value with at least q*count at or below.
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[static_cast<size_t>(b)];
    if (seen >= rank) return std::chrono::nanoseconds(b == kBuckets - 1 ? max_ : std::min(upper(b), max_));
  }
  return std::chrono::nanoseconds(max_);
}

}  // namespace dashctl::util
