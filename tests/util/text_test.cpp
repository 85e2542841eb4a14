// SPDX-License-Identifier: GPL-2.0-or-later
#include "support/catch.h"

#include "util/text.h"

using namespace dashctl::util;

TEST_CASE("edit distance counts a transposition as one edit") {
  CHECK(edit_distance("status", "status") == 0);
  CHECK(edit_distance("stauts", "status") == 1);
  CHECK(edit_distance("lsit", "list") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("did you mean suggests only close words") {
  const std::vector<std::string> verbs{"button", "config", "version", "help"};
  CHECK(closest("buton", verbs) == "button");
  CHECK(closest("confgi", verbs) == "config");
  CHECK(closest("x", verbs).empty());
  CHECK(closest("frobnicate", verbs).empty());
  CHECK(did_you_mean("verison", verbs) == " (did you mean 'version'?)");
  CHECK(did_you_mean("zzz", verbs).empty());
}

TEST_CASE("button names") {
  CHECK(is_button_name("bedroom"));
  CHECK(is_button_name("0"));
  CHECK(is_button_name("button-1_a"));
  CHECK(is_button_name(std::string(32, 'a')));
  CHECK_FALSE(is_button_name(std::string(33, 'a')));
  CHECK_FALSE(is_button_name(""));
  CHECK_FALSE(is_button_name("-a"));
  CHECK_FALSE(is_button_name("_a"));
  CHECK_FALSE(is_button_name("Bedroom"));
  CHECK_FALSE(is_button_name("bed room"));
  CHECK_FALSE(is_button_name("bed.room"));
  CHECK_FALSE(is_button_name("../etc"));
}

TEST_CASE("words split on any run of white space") {
  CHECK(split_words("  /bin/echo  a\tb ") == std::vector<std::string>{"/bin/echo", "a", "b"});
  CHECK(split_words("   ").empty());
}
