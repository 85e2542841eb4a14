// SPDX-License-Identifier: GPL-2.0-or-later
#include "util/time.h"

#include <cstdio>

namespace dashctl::util {

std::string iso8601(std::chrono::system_clock::time_point t, bool millis) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  // Sized for any year an int holds, so that no compiler sees a truncation.
  char text[64];
  const int year = static_cast<int>(ymd.year());
  const auto month = static_cast<unsigned>(ymd.month());
  const auto mday = static_cast<unsigned>(ymd.day());
  const auto h = static_cast<int>(hms.hours().count());
  const auto m = static_cast<int>(hms.minutes().count());
  const auto s = static_cast<int>(hms.seconds().count());
  if (millis)
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", year, month, mday, h, m, s,
                  static_cast<int>(hms.subseconds().count()));
  else
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02dZ", year, month, mday, h, m, s);
  return text;
}

}  // namespace dashctl::util
