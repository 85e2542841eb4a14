// SPDX-License-Identifier: GPL-2.0-or-later
#include "support/catch.h"

#include "util/duration.h"

using namespace dashctl::util;
using namespace std::chrono_literals;

TEST_CASE("durations need a unit") {
  CHECK(parse_duration("10s") == 10s);
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("2m") == 2min);
  CHECK(parse_duration("1h") == 1h);
  CHECK(parse_duration("1m30s") == 90s);
  CHECK(parse_duration("0s") == 0ms);
  CHECK_FALSE(parse_duration("10"));
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("s"));
  CHECK_FALSE(parse_duration("-1s"));
  CHECK_FALSE(parse_duration("10 s"));
  CHECK_FALSE(parse_duration("1.5s"));
  CHECK_FALSE(parse_duration("10sec"));
  CHECK_FALSE(parse_duration("99999999999999999999h"));
  CHECK_FALSE(parse_duration("9999999999999999h"));
}

TEST_CASE("a duration too long to hold is out of range, not malformed") {
  DurationProblem why = DurationProblem::malformed;
  CHECK_FALSE(parse_duration("99999999999999h", &why));  // overflows as milliseconds
  CHECK(why == DurationProblem::out_of_range);
  why = DurationProblem::malformed;
  CHECK_FALSE(parse_duration("99999999999999999999h", &why));  // more digits than fit at all
  CHECK(why == DurationProblem::out_of_range);
  why = DurationProblem::malformed;
  CHECK_FALSE(parse_duration("1s99999999999999h", &why));  // the sum
  CHECK(why == DurationProblem::out_of_range);
  CHECK(parse_duration("640511947003h") == std::chrono::hours(640511947003));  // a quarter of what fits
  CHECK_FALSE(parse_duration("640511947004h", &why));
  CHECK(why == DurationProblem::out_of_range);
  // Malformed wins: the text is no duration whatever its size.
  for (const char* bad : {"99999999999999999999", "99999999999999999999x", "99999999999999h1.5s", "10", "1.5s"}) {
    why = DurationProblem::out_of_range;
    CHECK_FALSE(parse_duration(bad, &why));
    CHECK(why == DurationProblem::malformed);
  }
}

TEST_CASE("on the command line a bare number is seconds") {
  CHECK(parse_flag_duration("60") == 60s);
  CHECK(parse_flag_duration("0") == 0s);
  CHECK(parse_flag_duration("90s") == 90s);
  CHECK(parse_flag_duration("1m30s") == 90s);
  DurationProblem why = DurationProblem::out_of_range;
  for (const char* bad : {"", "1m30", "30 ", "-5", "1.5", "5x"}) {
    CHECK_FALSE(parse_flag_duration(bad, &why));
    CHECK(why == DurationProblem::malformed);
  }
  CHECK_FALSE(parse_flag_duration("99999999999999999999", &why));
  CHECK(why == DurationProblem::out_of_range);
  CHECK_FALSE(parse_duration("60"));  // config files keep the unit
}

TEST_CASE("durations print in the form they are read") {
  for (const std::chrono::milliseconds d : {10000ms, 90000ms, 3600000ms, 250ms, 1500ms}) {
    CHECK(parse_duration(format_duration(d)) == d);
  }
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(0ms) == "0s");
}
