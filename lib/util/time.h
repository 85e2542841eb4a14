// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Wall-clock times as dashctl writes them: ISO 8601, UTC.

#include <chrono>
#include <string>

namespace dashctl::util {

/// "2026-11-22T03:04:05Z", or with `millis` "2026-11-22T03:04:05.123Z". Times are cut, not
/// rounded, to the precision shown.
std::string iso8601(std::chrono::system_clock::time_point t, bool millis = false);

}  // namespace dashctl::util
