// SPDX-License-Identifier: GPL-2.0-or-later
// Loading from disk: buttons.d, duplicates across files, and the permission rules.

#include "support/catch.h"

#include <sys/stat.h>

#include "config/load.h"
#include "support/tmpdir.h"

using namespace dashctl::config;
using dashctl::test::TempDir;
using dashctl::util::Error;
using dashctl::util::Exit;

namespace {

const std::string kMain =
    "[network]\niot_interface = \"br-iot\"\nlisten_address = \"10.77.0.1\"\n"
    "subnet = \"10.77.0.0/24\"\n";

bool mentions(const std::vector<Diagnostic>& problems, const std::string& text) {
  for (const auto& p : problems)
    if (p.str().find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("buttons come from the main file and from buttons.d, sorted by file") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain + "[[button]]\nname = \"inline\"\nip = \"10.77.0.5\"\n");
  dir.write("buttons.d/zeta.toml", "mac = \"ac:63:be:00:00:02\"\n");
  dir.write("buttons.d/alpha.toml", "mac = \"ac:63:be:00:00:01\"\n");
  dir.write("buttons.d/.alpha.toml.Xy12ab", "garbage from a crash [[[");
  dir.write("buttons.d/old.toml.bak", "garbage [[[");
  dir.write("buttons.d/README", "not a button");
  const auto c = load(path);
  REQUIRE(c.buttons.size() == 3);
  CHECK(c.buttons[0].name == "inline");
  CHECK(c.buttons[1].name == "alpha");
  CHECK(c.buttons[2].name == "zeta");
  CHECK(c.buttons[2].own_file);
  CHECK(c.buttons_dir == dir / "buttons.d");
}

TEST_CASE("a missing config is Exit::no_input with a hint") {
  TempDir dir;
  try {
    check(dir / "nope.toml");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::no_input);
    CHECK(std::string(e.what()) == "reading " + (dir / "nope.toml") + ": No such file or directory");
    CHECK_FALSE(e.hint().empty());
  }
}

TEST_CASE("a name defined in the main file and in buttons.d names both places") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain + "[[button]]\nname = \"hall\"\nip = \"10.77.0.5\"\n");
  dir.write("buttons.d/hall.toml", "mac = \"ac:63:be:00:00:01\"\n");
  const auto checked = check(path);
  REQUIRE(checked.problems.size() == 1);
  CHECK(checked.problems[0].str() == (dir / "buttons.d/hall.toml") +
                                         ":1:1: button 'hall' is defined twice: here and at " +
                                         path + ":6:8");
  CHECK_THROWS_AS(load(path), ConfigError);
}

TEST_CASE("a button file with a bad name is a problem") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain);
  dir.write("buttons.d/Bed Room.toml", "mac = \"ac:63:be:00:00:01\"\n");
  const auto checked = check(path);
  REQUIRE(checked.problems.size() == 1);
  CHECK(mentions(checked.problems, "'Bed Room' is not a valid button name"));
}

TEST_CASE("problems in a button file point into that file") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain);
  const auto file = dir.write("buttons.d/hall.toml", "mac = \"ac:63:be:00:00:01\"\nwindow = 10\n");
  const auto checked = check(path);
  REQUIRE(checked.problems.size() == 1);
  CHECK(checked.problems[0].str() == file + ":2:10: window must be a string, not an integer");
}

TEST_CASE("exec actions in a file others can write are refused") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain);
  const auto file = dir.write("buttons.d/hall.toml",
                              "mac = \"ac:63:be:00:00:01\"\non_press = [{ exec = [\"/bin/true\"] }]\n");
  REQUIRE(::chmod(file.c_str(), 0644) == 0);
  CHECK(check(path).problems.empty());
  REQUIRE(::chmod(file.c_str(), 0664) == 0);
  auto checked = check(path);
  REQUIRE(checked.problems.size() == 1);
  CHECK(checked.problems[0].str() ==
        file + ":1:1: has exec actions but is writable by group or others, so others could make "
               "dashctl run any program; run 'chmod go-w " + file + "'");
  // Without exec actions the same mode is fine.
  dir.write("buttons.d/hall.toml", "mac = \"ac:63:be:00:00:01\"\n");
  CHECK(check(path).problems.empty());
}

TEST_CASE("exec actions inline in a world-writable main file are refused") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain + "[[button]]\nname = \"a\"\nip = \"10.77.0.5\"\n"
                                                      "on_press = [{ exec = [\"/bin/true\"] }]\n");
  REQUIRE(::chmod(path.c_str(), 0646) == 0);
  CHECK(mentions(check(path).problems, "has exec actions but is writable by group or others"));
}

TEST_CASE("a buttons.d others can write to is refused") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain);
  dir.write("buttons.d/hall.toml", "mac = \"ac:63:be:00:00:01\"\n");
  REQUIRE(::chmod((dir / "buttons.d").c_str(), 0777) == 0);
  CHECK(mentions(check(path).problems, "directory is writable by group or others"));
}

TEST_CASE("an MQTT password in a world-readable file is refused") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain + "[mqtt]\npassword = \"hunter2\"\n");
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  CHECK(mentions(check(path).problems, "holds the MQTT password but is readable by everyone"));
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  CHECK(check(path).problems.empty());
}

TEST_CASE("a FIFO, a device or a dangling link in buttons.d never stops the reading") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain);
  dir.write("buttons.d/good.toml", "mac = \"ac:63:be:00:00:01\"\n");
  REQUIRE(::mkfifo((dir / "buttons.d/f.toml").c_str(), 0600) == 0);
  REQUIRE(::symlink("/dev/zero", (dir / "buttons.d/zero.toml").c_str()) == 0);
  REQUIRE(::symlink((dir / "gone.toml").c_str(), (dir / "buttons.d/gone.toml").c_str()) == 0);
  const auto checked = check(path);  // a blocking open of the FIFO would wait here for ever
  CHECK(mentions(checked.problems, "buttons.d/f.toml:1:1: is not a regular file: a FIFO"));
  CHECK(mentions(checked.problems, "buttons.d/zero.toml:1:1: is not a regular file: a character device"));
  CHECK(checked.problems.size() == 2);
  CHECK(mentions(checked.warnings, "buttons.d/gone.toml:1:1: a symlink to nothing (a dangling link)"));
  REQUIRE(checked.config.buttons.size() == 1);
  CHECK(checked.config.buttons[0].name == "good");
}

TEST_CASE("a main file that is no regular file, or a huge one, is refused at once") {
  TempDir dir;
  try {
    (void)check("/dev/zero");
    FAIL("read /dev/zero as a config");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::data);
    CHECK_THAT(e.what(), Catch::Contains("not a regular file"));
  }
  const auto big = dir.write("big.toml", "# " + std::string(kMaxConfigFile, 'x') + "\n");
  CHECK_THROWS_WITH(check(big), Catch::Contains("is larger than 1 MiB"));
}

TEST_CASE("the default MQTT client id differs between configs, and stays for one") {
  const auto a = default_client_id("/etc/dashctl/dashctl.toml");
  CHECK(a.starts_with("dashctl-"));
  CHECK(a == default_client_id("/etc/dashctl/dashctl.toml"));
  CHECK(a != default_client_id("/etc/dashctl/other.toml"));
  CHECK(a.size() <= 8 + 40 + 1 + 8);
  CHECK(a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == std::string::npos);
}
