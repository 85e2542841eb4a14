// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dashctl::util {

/// Why a text is not a duration.
enum class DurationProblem {
  malformed,     ///< not digits and units at all ("10", "1.5s", "10sec")
  out_of_range,  ///< well-formed, but too long to hold (past about 73 million years)
};

/// Parses "500ms", "10s", "2m", "1h" and sums like "1m30s". Returns nullopt on anything
/// else, saying why in `problem` when given (no bare numbers: a unit is always required, so
/// "10" in a config file is never misread).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, DurationProblem* problem = nullptr);

/// As parse_duration, and a bare number is seconds ("60" is 60s), as systemd reads it: for
/// command-line flags only, where the unit is a nuisance and the flag says what it is.
std::optional<std::chrono::milliseconds> parse_flag_duration(std::string_view text,
                                                             DurationProblem* problem = nullptr);

/// The shortest exact spelling that parse_duration reads back ("10s", "1m30s", "250ms").
std::string format_duration(std::chrono::milliseconds d);

}  // namespace dashctl::util
