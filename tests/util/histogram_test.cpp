// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's latency histogram: bucket bounds, quantiles, extremes.

#include "support/catch.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "util/histogram.h"

using dashctl::util::Histogram;
using std::chrono::nanoseconds;

TEST_CASE("an empty histogram reads zero") {
  Histogram h;
  CHECK(h.count() == 0);
  CHECK(h.max() == nanoseconds(0));
  CHECK(h.quantile(0.5) == nanoseconds(0));
  CHECK(h.quantile(0.99) == nanoseconds(0));
}

TEST_CASE("small durations are exact and a single value is every quantile") {
  Histogram h;
  h.add(nanoseconds(7));
  CHECK(h.quantile(0.01) == nanoseconds(7));
  CHECK(h.quantile(1.0) == nanoseconds(7));
  Histogram big;
  big.add(nanoseconds(123456789));
  CHECK(big.quantile(0.5) == nanoseconds(123456789));  // never above the maximum
  CHECK(big.max() == nanoseconds(123456789));
}

TEST_CASE("negative durations count as zero and huge ones share the last bucket") {
  Histogram h;
  h.add(nanoseconds(-5));
  CHECK(h.quantile(1.0) == nanoseconds(0));
  h.add(nanoseconds(int64_t{1} << 50));
  h.add(nanoseconds(int64_t{1} << 45));
  CHECK(h.count() == 3);
  CHECK(h.max() == nanoseconds(int64_t{1} << 50));
  CHECK(h.quantile(1.0) == nanoseconds(int64_t{1} << 50));
  CHECK(h.quantile(0.5) >= nanoseconds(int64_t{1} << 40));
}

TEST_CASE("quantiles are within 1/16 above the exact ones") {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(11.0, 1.5);  // around 60 us, a long tail
  Histogram h;
  std::vector<int64_t> values;
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<int64_t>(dist(rng));
    values.push_back(v);
    h.add(nanoseconds(v));
  }
  std::sort(values.begin(), values.end());
  CHECK(h.count() == values.size());
  CHECK(h.max() == nanoseconds(values.back()));
  for (double q : {0.01, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
    const int64_t exact = values[rank - 1];
    const int64_t got = h.quantile(q).count();
    INFO("q=" << q << " exact=" << exact << " got=" << got);
    CHECK(got >= exact);
    CHECK(static_cast<double>(got) <= static_cast<double>(exact) * (1.0 + 1.0 / 16) + 1);
  }
}

TEST_CASE("every value falls in a bucket whose bound is at or above it") {
  for (int64_t v : {int64_t{0}, int64_t{15}, int64_t{16}, int64_t{17}, int64_t{31}, int64_t{32}, int64_t{1000},
                    int64_t{1023}, int64_t{1024}, int64_t{999999}, (int64_t{1} << 40) - 1}) {
    Histogram one;
    one.add(nanoseconds(v));
    one.add(nanoseconds(int64_t{1} << 41));  // a larger maximum, so the bound is not cut to it
    const int64_t bound = one.quantile(0.5).count();
    INFO("v=" << v << " bound=" << bound);
    CHECK(bound >= v);
    CHECK(static_cast<double>(bound) <= static_cast<double>(v) * (1.0 + 1.0 / 16) + 1);
  }
}
