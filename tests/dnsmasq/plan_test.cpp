// Planning against the disk, applying, tearing down, and the dry-run diff.

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <functional>

#include "dnsmasq/files.h"
#include "dnsmasq/sample.h"
#include "support/tmpdir.h"
#include "util/error.h"
#include "util/fs.h"

using namespace dashctl;
using namespace dashctl::dnsmasq;
using dashctl::test::button;
using dashctl::test::kListen;
using dashctl::test::TempDir;

namespace {

/// A config whose conf_dir exists (as dnsmasq's would) and whose state_dir does not yet.
config::Config config_in(const TempDir& dir) {
  std::filesystem::create_directory(dir / "dnsmasq.d");
  return test::sample_config(dir / "dnsmasq.d", dir / "state");
}

Change change_of(const Plan& p, const std::string& path) {
  for (const auto& f : p.files) {
    if (f.path == path) return f.change;
  }
  FAIL("no entry for " << path);
  return Change::unchanged;
}

size_t entries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("a first setup creates all three files, a second changes nothing") {
  TempDir dir;
  const auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);

  const Plan first = plan_setup(render(c, kListen));
  REQUIRE(first.files.size() == 3);
  CHECK(first.any_change());
  CHECK(first.dropin_changed);
  for (const auto& f : first.files) CHECK(f.change == Change::create);
  // The drop-in comes last, so dnsmasq never reads it before the files it names exist.
  CHECK(first.files.back().path == p.dropin);

  apply(first, c);
  const Rendered wanted = render(c, kListen);
  CHECK(util::read_file(p.dropin) == wanted.dropin.content);
  CHECK(util::read_file(p.hosts) == wanted.hosts.content);
  CHECK(util::read_file(p.dhcp_hosts) == wanted.dhcp_hosts.content);
  // dnsmasq reads them as its own user after dropping root.
  CHECK(mode_of(p.dropin) == 0644);
  CHECK(mode_of(p.hosts) == 0644);
  CHECK(mode_of(c.dnsmasq.state_dir) == 0755);
  // No temporary file left behind, by the atomic writes or by dnsmasq --test.
  CHECK(entries(c.dnsmasq.state_dir) == 2);
  CHECK(entries(c.dnsmasq.conf_dir) == 1);

  const Plan second = plan_setup(render(c, kListen));
  CHECK_FALSE(second.any_change());
  CHECK_FALSE(second.dropin_changed);
  for (const auto& f : second.files) CHECK(f.change == Change::unchanged);
}

TEST_CASE("a new button changes only the leases, which needs no restart") {
  TempDir dir;
  auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);
  apply(plan_setup(render(c, kListen)), c);

  c.buttons.push_back(button("garage", "02:00:00:00:00:09", "10.77.0.209"));
  const Plan plan = plan_setup(render(c, kListen));
  CHECK(change_of(plan, p.dhcp_hosts) == Change::update);
  CHECK(change_of(plan, p.hosts) == Change::unchanged);
  CHECK(change_of(plan, p.dropin) == Change::unchanged);
  CHECK_FALSE(plan.dropin_changed);
  for (const auto& f : plan.files) {
    if (f.path == p.dhcp_hosts) {
      CHECK(f.old_content == util::read_file(p.dhcp_hosts));
      CHECK(f.new_content.find("02:00:00:00:00:09,10.77.0.209,garage\n") != std::string::npos);
    }
  }
  apply(plan, c);
  CHECK_FALSE(plan_setup(render(c, kListen)).any_change());
}

TEST_CASE("a new state_dir changes the drop-in, which needs a restart") {
  TempDir dir;
  auto c = config_in(dir);
  apply(plan_setup(render(c, kListen)), c);
  c.dnsmasq.state_dir = dir / "elsewhere";
  const Plan plan = plan_setup(render(c, kListen));
  CHECK(change_of(plan, paths(c.dnsmasq).dropin) == Change::update);
  CHECK(change_of(plan, paths(c.dnsmasq).hosts) == Change::create);
  CHECK(plan.dropin_changed);
}

TEST_CASE("a file dashctl did not write is refused and left alone") {
  TempDir dir;
  const auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);
  const std::string theirs = "# my own dnsmasq settings\naddress=/example.com/10.0.0.9\n";
  util::write_file_atomic(p.dropin, theirs);

  for (const auto& plan : {std::function<void()>([&] { plan_setup(render(c, kListen)); }),
                           std::function<void()>([&] { plan_teardown(c); })}) {
    try {
      plan();
      FAIL("a foreign file was accepted");
    } catch (const util::Error& e) {
      CHECK(e.code() == util::Exit::cant_create);
      CHECK(std::string(e.what()) ==
            p.dropin +
                " exists and was not written by dashctl; move it away or set "
                "dnsmasq.conf_dir/state_dir elsewhere");
    }
  }
  CHECK(util::read_file(p.dropin) == theirs);
  CHECK_FALSE(std::filesystem::exists(c.dnsmasq.state_dir));

  // A file that merely mentions the marker somewhere else is not ours either.
  util::write_file_atomic(p.dropin, "# mine\n" + kMarker + "\n");
  CHECK_THROWS_AS(plan_setup(render(c, kListen)), util::Error);
}

TEST_CASE("teardown removes what setup wrote, and only that") {
  TempDir dir;
  const auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);
  const auto neighbour = dir.write("dnsmasq.d/other.conf", "domain-needed\n");

  CHECK_FALSE(plan_teardown(c).any_change());  // nothing installed yet

  apply(plan_setup(render(c, kListen)), c);
  const Plan plan = plan_teardown(c);
  REQUIRE(plan.files.size() == 3);
  CHECK(plan.dropin_changed);
  // The drop-in goes first, so dnsmasq never reads one that names missing files.
  CHECK(plan.files.front().path == p.dropin);
  for (const auto& f : plan.files) {
    CHECK(f.change == Change::remove);
    CHECK(f.old_content.starts_with(kMarker));
  }
  apply(plan, c);
  CHECK_FALSE(std::filesystem::exists(p.dropin));
  CHECK_FALSE(std::filesystem::exists(p.hosts));
  CHECK_FALSE(std::filesystem::exists(p.dhcp_hosts));
  CHECK(util::read_file(neighbour) == "domain-needed\n");
  CHECK(plan_teardown(c).files.empty());
}

TEST_CASE("teardown of a partial install removes what is there") {
  TempDir dir;
  const auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);
  apply(plan_setup(render(c, kListen)), c);
  util::remove_file(p.hosts);
  const Plan plan = plan_teardown(c);
  REQUIRE(plan.files.size() == 2);
  CHECK(plan.files[0].path == p.dropin);
  CHECK(plan.files[1].path == p.dhcp_hosts);
}

TEST_CASE("a missing conf_dir means dnsmasq is not set up to read drop-ins") {
  TempDir dir;
  const auto c = test::sample_config(dir / "no-such-dir", dir / "state");
  try {
    apply(plan_setup(render(c, kListen)), c);
    FAIL("no error");
  } catch (const util::Error& e) {
    CHECK(e.code() == util::Exit::unavailable);
    CHECK(std::string(e.what()).find(dir / "no-such-dir") != std::string::npos);
    CHECK(e.hint().find("conf-dir") != std::string::npos);
  }
  CHECK_FALSE(std::filesystem::exists(c.dnsmasq.state_dir));
}

TEST_CASE("state_dir and its missing parents are created 0755 whatever the umask") {
  TempDir dir;
  std::filesystem::create_directory(dir / "dnsmasq.d");
  const auto c = test::sample_config(dir / "dnsmasq.d", dir / "var/lib/dashctl");
  const mode_t old = ::umask(077);
  apply(plan_setup(render(c, kListen)), c);
  ::umask(old);
  CHECK(mode_of(dir / "var/lib") == 0755);
  CHECK(mode_of(dir / "var/lib/dashctl") == 0755);
  CHECK(mode_of(dir / "var/lib/dashctl/hosts") == 0644);
}

TEST_CASE("diff shows whole files for create and remove") {
  const FileChange create{"/s/hosts", Change::create, "", kMarker + "\n10.77.0.1 a.example\n"};
  CHECK(diff(create) ==
        "--- /dev/null\n"
        "+++ /s/hosts\n"
        "@@ -0,0 +1,2 @@\n"
        "+" +
            kMarker +
            "\n"
            "+10.77.0.1 a.example\n");

  const FileChange remove{"/s/hosts", Change::remove, kMarker + "\n", ""};
  CHECK(diff(remove) ==
        "--- /s/hosts\n"
        "+++ /dev/null\n"
        "@@ -1 +0,0 @@\n"
        "-" +
            kMarker + "\n");

  CHECK(diff(FileChange{"/s/hosts", Change::unchanged, "x\n", "x\n"}).empty());
}

TEST_CASE("diff of an update shows the changed lines with three lines of context") {
  std::string old_text, new_text;
  for (int i = 1; i <= 20; ++i) {
    old_text += "line " + std::to_string(i) + "\n";
    if (i == 2) new_text += "line two\n";
    if (i != 2 && i != 15) new_text += "line " + std::to_string(i) + "\n";
    if (i == 17) new_text += "line 17b\n";
  }
  const FileChange update{"/s/dhcp-hosts", Change::update, old_text, new_text};
  CHECK(diff(update) ==
        "--- /s/dhcp-hosts\n"
        "+++ /s/dhcp-hosts\n"
        "@@ -1,5 +1,5 @@\n"
        " line 1\n"
        "-line 2\n"
        "+line two\n"
        " line 3\n"
        " line 4\n"
        " line 5\n"
        "@@ -12,9 +12,9 @@\n"
        " line 12\n"
        " line 13\n"
        " line 14\n"
        "-line 15\n"
        " line 16\n"
        " line 17\n"
        "+line 17b\n"
        " line 18\n"
        " line 19\n"
        " line 20\n");
}

TEST_CASE("diff marks a missing final newline") {
  const FileChange update{"/s/f", Change::update, "a\nb", "a\nb\n"};
  CHECK(diff(update) ==
        "--- /s/f\n"
        "+++ /s/f\n"
        "@@ -1,2 +1,2 @@\n"
        " a\n"
        "-b\n"
        "\\ No newline at end of file\n"
        "+b\n");
}

TEST_CASE("a setup plan's diff is what apply then writes") {
  TempDir dir;
  auto c = config_in(dir);
  apply(plan_setup(render(c, kListen)), c);
  c.buttons.erase(c.buttons.begin());  // kitchen
  const Plan plan = plan_setup(render(c, kListen));
  std::string all;
  for (const auto& f : plan.files) all += diff(f);
  const auto dhcp = paths(c.dnsmasq).dhcp_hosts;
  CHECK(all == "--- " + dhcp +
                   "\n"
                   "+++ " +
                   dhcp +
                   "\n"
                   "@@ -1,3 +1,2 @@\n"
                   " " +
                   kMarker +
                   "\n"
                   " 68:54:fd:12:34:56,10.77.0.201,bedroom\n"
                   "-ac:63:be:00:00:02,10.77.0.202,kitchen\n");
}
