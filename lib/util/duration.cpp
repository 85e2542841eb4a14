// SPDX-License-Identifier: GPL-2.0-or-later
#include "util/duration.h"

#include <charconv>
#include <cstdint>

namespace dashctl::util {
namespace {

/// The longest duration read: a quarter of what fits, so that sums and comparisons of
/// durations stay far from overflowing. About 73 million years.
constexpr int64_t kMaxMs = INT64_MAX / 4;

std::optional<std::chrono::milliseconds> parse(std::string_view text, bool bare_seconds, DurationProblem* problem) {
  auto fail = [&](DurationProblem p) -> std::optional<std::chrono::milliseconds> {
    if (problem) *problem = p;
    return std::nullopt;
  };
  if (text.empty()) return fail(DurationProblem::malformed);
  int64_t total = 0;
  bool too_long = false;  // said only once the whole text is known to be well-formed
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
    if (ec == std::errc::result_out_of_range) {
      too_long = true;  // digits, more than fit: `end` is past them all the same
    } else if (ec != std::errc{} || n < 0) {
      return fail(DurationProblem::malformed);
    }
    const bool first = i == 0;
    i = static_cast<size_t>(end - text.data());
    const auto rest = text.substr(i);
    int64_t unit = 0;
    if (rest.starts_with("ms")) {
      unit = 1;
      i += 2;
    } else if (rest.starts_with("s")) {
      unit = 1000;
      i += 1;
    } else if (rest.starts_with("m")) {
      unit = 60'000;
      i += 1;
    } else if (rest.starts_with("h")) {
      unit = 3'600'000;
      i += 1;
    } else if (bare_seconds && first && rest.empty()) {
      unit = 1000;  // the whole text is one number
    } else {
      return fail(DurationProblem::malformed);
    }
    if (too_long || n > kMaxMs / unit || total > kMaxMs - n * unit) {
      too_long = true;
      continue;
    }
    total += n * unit;
  }
  if (too_long) return fail(DurationProblem::out_of_range);
  return std::chrono::milliseconds(total);
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, DurationProblem* problem) {
  return parse(text, false, problem);
}

std::optional<std::chrono::milliseconds> parse_flag_duration(std::string_view text, DurationProblem* problem) {
  return parse(text, true, problem);
}

std::string format_duration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  const std::pair<int64_t, const char*> units[] = {{3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
  for (const auto& [size, name] : units) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  if (ms > 0) out += std::to_string(ms) + "ms";
  return out;
}

}  // namespace dashctl::util
