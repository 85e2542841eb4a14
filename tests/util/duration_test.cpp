#include <catch2/catch.hpp>

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

TEST_CASE("durations print in the form they are read") {
  for (const std::chrono::milliseconds d : {10000ms, 90000ms, 3600000ms, 250ms, 1500ms}) {
    CHECK(parse_duration(format_duration(d)) == d);
  }
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(0ms) == "0s");
}
