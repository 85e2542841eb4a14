#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dashctl::util {

/// Parses "500ms", "10s", "2m", "1h" and sums like "1m30s". Returns nullopt on anything
/// else (no bare numbers: a unit is always required, so "10" is never misread).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// The shortest exact spelling that parse_duration reads back ("10s", "1m30s", "250ms").
std::string format_duration(std::chrono::milliseconds d);

}  // namespace dashctl::util
