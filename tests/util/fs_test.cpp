// SPDX-License-Identifier: GPL-2.0-or-later
#include "support/catch.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "support/tmpdir.h"
#include "util/error.h"
#include "util/fs.h"

using namespace dashctl::util;
using dashctl::test::TempDir;
using namespace std::chrono_literals;

namespace {
size_t entries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}
}  // namespace

TEST_CASE("atomic writes replace the whole file and leave no temporary behind") {
  TempDir dir;
  const auto path = dir / "file.toml";
  write_file_atomic(path, "one\n", 0640);
  CHECK(read_file(path) == "one\n");
  write_file_atomic(path, "two\n");
  CHECK(read_file(path) == "two\n");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK(entries(dir.path()) == 1);
}

TEST_CASE("atomic writes can refuse to replace") {
  TempDir dir;
  const auto path = dir.write("file.toml", "mine\n");
  CHECK_THROWS_AS(write_file_atomic(path, "theirs\n", 0644, Replace::forbid), Error);
  CHECK(read_file(path) == "mine\n");
  CHECK(entries(dir.path()) == 1);
}

TEST_CASE("a failed write keeps the old file and says what failed") {
  TempDir dir;
  const auto path = dir / "missing-dir/file.toml";
  try {
    write_file_atomic(path, "x");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::cant_create);
    CHECK(std::string(e.what()).find(path) != std::string::npos);
  }
}

TEST_CASE("read_file tells a missing file from an unreadable one") {
  TempDir dir;
  CHECK_FALSE(read_file(dir / "nope"));
  CHECK_THROWS_AS(read_file(dir.path()), Error);  // a directory
}

TEST_CASE("rename without replace keeps an existing target") {
  TempDir dir;
  const auto a = dir.write("a", "a");
  const auto b = dir.write("b", "b");
  CHECK_THROWS_AS(rename_no_replace(a, b), Error);
  CHECK(read_file(b) == "b");
  rename_no_replace(a, dir / "c");
  CHECK(read_file(dir / "c") == "a");
  CHECK_FALSE(read_file(a));
}

TEST_CASE("the directory lock excludes another process and times out with temp_fail") {
  TempDir dir;
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    DirLock held(dir.path());
    (void)!::write(ready[1], "x", 1);
    ::usleep(400'000);
    ::_exit(0);
  }
  char c;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  try {
    DirLock again(dir.path(), 50ms);
    FAIL("got a lock that another process holds");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::temp_fail);
  }
  // Once the holder is gone, the lock is free again.
  DirLock later(dir.path(), 5s);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  CHECK(WIFEXITED(status));
}

namespace {
/// Sets a file's modification time `ago` into the past.
void age(const std::string& path, std::chrono::seconds ago) {
  const auto t = std::filesystem::last_write_time(path);
  std::filesystem::last_write_time(path, t - ago);
}
}  // namespace

TEST_CASE("stale temporaries of our files are removed, nothing else") {
  TempDir dir;
  auto ours = [](std::string_view n) { return n == "dhcp-hosts" || n.ends_with(".toml"); };
  const std::vector<std::string> old_ours{".dhcp-hosts.Ab12Cd", ".kitchen.toml.zzzzzz"};
  const std::vector<std::string> kept{
      ".dhcp-hosts.Ab12C",       // five characters, not mkostemp's six
      ".dhcp-hosts.Ab1-Cd",      // not letters and digits
      ".other.conf.Ab12Cd",      // not ours
      "dhcp-hosts.Ab12Cd",       // not hidden
      ".dhcp-hosts.swp",         // an editor's
      ".dhcp-hosts.young1",      // ours, but written a moment ago
  };
  for (const auto& n : old_ours) age(dir.write(n, "half"), 120s);
  for (const auto& n : kept) {
    const auto p = dir.write(n, "x");
    if (n != ".dhcp-hosts.young1") age(p, 120s);
  }
  REQUIRE(::mkdir((dir / ".dir.toml.Ab12Cd").c_str(), 0755) == 0);  // not a regular file
  age(dir / ".dir.toml.Ab12Cd", 120s);

  auto removed = remove_stale_temporaries(dir.path(), ours);
  std::sort(removed.begin(), removed.end());
  CHECK(removed == std::vector<std::string>{dir / ".dhcp-hosts.Ab12Cd", dir / ".kitchen.toml.zzzzzz"});
  for (const auto& n : old_ours) CHECK_FALSE(std::filesystem::exists(dir / n));
  for (const auto& n : kept) CHECK(std::filesystem::exists(dir / n));
  CHECK(std::filesystem::is_directory(dir / ".dir.toml.Ab12Cd"));

  CHECK(remove_stale_temporaries(dir.path(), ours).empty());
  CHECK(remove_stale_temporaries(dir.path(), ours, 0s) == std::vector<std::string>{dir / ".dhcp-hosts.young1"});
  CHECK(remove_stale_temporaries(dir / "missing", ours).empty());
}

TEST_CASE("read_file never waits on or reads all of what is no regular file") {
  TempDir dir;
  const std::string fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // No writer: a blocking open would wait here for ever (ctest's timeout would fail it).
  try {
    (void)read_file(fifo);
    FAIL("read a FIFO");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::data);
    CHECK_THAT(e.what(), Catch::Contains("is not a regular file: a FIFO"));
  }
  CHECK_THROWS_WITH(read_file("/dev/zero"), Catch::Contains("/dev/zero is not a regular file: a character device"));
  CHECK_THROWS_WITH(read_file(dir.path()), Catch::Contains("a directory"));

  dir.write("big", std::string(4097, 'x'));
  CHECK_THROWS_WITH(read_file(dir / "big", 4096), Catch::Contains("is larger than 4 KiB"));
  CHECK(read_file(dir / "big", 4097)->size() == 4097);
  // procfs says 0 bytes and has more: read, and still bounded.
  CHECK_FALSE(read_file("/proc/self/status")->empty());
  CHECK_THROWS_WITH(read_file("/proc/self/maps", 16), Catch::Contains("is larger than 16 bytes"));

  REQUIRE(::symlink((dir / "nothing").c_str(), (dir / "dangling").c_str()) == 0);
  CHECK_FALSE(read_file(dir / "dangling"));
}
