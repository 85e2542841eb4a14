// SPDX-License-Identifier: GPL-2.0-or-later
// Planning against the disk, applying, tearing down, and the dry-run diff.

#include "support/catch.h"

#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dnsmasq/files.h"
#include "dnsmasq/sample.h"
#include "support/thrown.h"
#include "support/tmpdir.h"
#include "util/error.h"
#include "util/fs.h"

using namespace dashctl;
using namespace dashctl::dnsmasq;
using dashctl::test::button;
using dashctl::test::kHelper;
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

/// Checks that setup and teardown both refuse the file at `path`, which dashctl did not write.
void check_refused_as_foreign(const config::Config& c, const std::string& path) {
  for (const auto& plan : {std::function<void()>([&] { plan_setup(render(c, kListen, kHelper)); }),
                           std::function<void()>([&] { plan_teardown(c); })}) {
    const auto e = test::thrown_by(plan);
    CHECK(e.code() == util::Exit::cant_create);
    CHECK(std::string(e.what()) ==
          path +
              " exists and was not written by dashctl; move it away or set "
              "dnsmasq.conf_dir/state_dir elsewhere");
  }
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("a first setup creates all four files, a second changes nothing") {
  TempDir dir;
  const auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);

  const Plan first = plan_setup(render(c, kListen, kHelper));
  REQUIRE(first.files.size() == 4);
  CHECK(first.any_change());
  CHECK(first.dropin_changed);
  for (const auto& f : first.files) CHECK(f.change == Change::create);
  // The drop-in comes last, so dnsmasq never reads it before the files it names exist.
  CHECK(first.files[2].path == p.dhcp_script);
  CHECK(first.files.back().path == p.dropin);

  apply(first, c);
  const Rendered wanted = render(c, kListen, kHelper);
  CHECK(util::read_file(p.dropin) == wanted.dropin.content);
  CHECK(util::read_file(p.hosts) == wanted.hosts.content);
  CHECK(util::read_file(p.dhcp_hosts) == wanted.dhcp_hosts.content);
  CHECK(util::read_file(p.dhcp_script) == wanted.dhcp_script.content);
  // dnsmasq reads them as its own user after dropping root, and runs the script.
  CHECK(mode_of(p.dropin) == 0644);
  CHECK(mode_of(p.hosts) == 0644);
  CHECK(mode_of(p.dhcp_hosts) == 0644);
  CHECK(mode_of(p.dhcp_script) == 0755);
  CHECK(mode_of(c.dnsmasq.state_dir) == 0755);
  // No temporary file left behind, by the atomic writes or by dnsmasq --test.
  CHECK(entries(c.dnsmasq.state_dir) == 3);
  CHECK(entries(c.dnsmasq.conf_dir) == 1);

  const Plan second = plan_setup(render(c, kListen, kHelper));
  CHECK_FALSE(second.any_change());
  CHECK_FALSE(second.dropin_changed);
  for (const auto& f : second.files) CHECK(f.change == Change::unchanged);
}

TEST_CASE("a new button changes only the leases, which needs no restart") {
  TempDir dir;
  auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);
  apply(plan_setup(render(c, kListen, kHelper)), c);

  c.buttons.push_back(button("garage", "02:00:00:00:00:09", "10.77.0.209"));
  const Plan plan = plan_setup(render(c, kListen, kHelper));
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
  CHECK_FALSE(plan_setup(render(c, kListen, kHelper)).any_change());
}

TEST_CASE("a new helper or event socket changes only the script, which needs no restart") {
  TempDir dir;
  auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);
  apply(plan_setup(render(c, kListen, kHelper)), c);
  CHECK_FALSE(plan_setup(render(c, kListen, kHelper)).any_change());

  const Plan moved = plan_setup(render(c, kListen, "/usr/local/libexec/dashctl/dhcp-script"));
  CHECK(change_of(moved, p.dhcp_script) == Change::update);
  CHECK(change_of(moved, p.dropin) == Change::unchanged);
  CHECK_FALSE(moved.dropin_changed);

  c.daemon.event_socket = dir / "events.sock";
  const Plan plan = plan_setup(render(c, kListen, kHelper));
  CHECK(change_of(plan, p.dhcp_script) == Change::update);
  CHECK_FALSE(plan.dropin_changed);
  apply(plan, c);
  CHECK(mode_of(p.dhcp_script) == 0755);
  CHECK(util::read_file(p.dhcp_script)->starts_with("#!" + kHelper + " " + c.daemon.event_socket + "\n"));
}

TEST_CASE("the shell script an earlier setup wrote is replaced by the helper's, the drop-in unchanged") {
  TempDir dir;
  auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);
  apply(plan_setup(render(c, kListen, kHelper)), c);
  const std::string before_helper = "#!/bin/sh\n" + kMarker + "\nexec '/usr/bin/dashctl' dhcp-event --socket '" +
                                    c.daemon.event_socket + "' -- \"$@\"\n";
  util::write_file_atomic(p.dhcp_script, before_helper, 0755);
  const Plan plan = plan_setup(render(c, kListen, kHelper));
  CHECK(change_of(plan, p.dhcp_script) == Change::update);
  CHECK_FALSE(plan.dropin_changed);  // dnsmasq runs the file anew for each event: no restart
  apply(plan, c);
  CHECK(util::read_file(p.dhcp_script) == render(c, kListen, kHelper).dhcp_script.content);
}

TEST_CASE("turning dnsmasq.dhcp_script off removes the script after the drop-in that names it") {
  TempDir dir;
  auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);
  apply(plan_setup(render(c, kListen, kHelper)), c);

  c.dnsmasq.dhcp_script = false;
  const Plan off = plan_setup(render(c, kListen, kHelper));
  REQUIRE(off.files.size() == 4);
  CHECK(off.dropin_changed);
  CHECK(off.files[2].path == p.dropin);
  CHECK(off.files[2].change == Change::update);
  CHECK(off.files[3].path == p.dhcp_script);
  CHECK(off.files[3].change == Change::remove);
  apply(off, c);
  CHECK_FALSE(std::filesystem::exists(p.dhcp_script));
  CHECK(util::read_file(p.dropin)->find("dhcp-script") == std::string::npos);
  CHECK_FALSE(plan_setup(render(c, kListen, kHelper)).any_change());

  // A script dashctl did not write stays, and is no reason to refuse: dnsmasq is not told to run it.
  const auto theirs = dir.write("state/dhcp-script", "#!/bin/sh\nlogger \"$@\"\n");
  CHECK_FALSE(plan_setup(render(c, kListen, kHelper)).any_change());
  CHECK(util::read_file(theirs) == "#!/bin/sh\nlogger \"$@\"\n");
}

TEST_CASE("a new state_dir changes the drop-in, which needs a restart") {
  TempDir dir;
  auto c = config_in(dir);
  apply(plan_setup(render(c, kListen, kHelper)), c);
  c.dnsmasq.state_dir = dir / "elsewhere";
  const Plan plan = plan_setup(render(c, kListen, kHelper));
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
  check_refused_as_foreign(c, p.dropin);
  CHECK(util::read_file(p.dropin) == theirs);
  CHECK_FALSE(std::filesystem::exists(c.dnsmasq.state_dir));

  // A file that merely mentions the marker somewhere else is not ours either.
  util::write_file_atomic(p.dropin, "# mine\n" + kMarker + "\n");
  CHECK_THROWS_AS(plan_setup(render(c, kListen, kHelper)), util::Error);
  // Nor is one with a shebang before it: only the script has that.
  util::write_file_atomic(p.dropin, "#!/bin/sh\n" + kMarker + "\n");
  CHECK_THROWS_AS(plan_setup(render(c, kListen, kHelper)), util::Error);
}

TEST_CASE("a dhcp-script dashctl did not write is refused and left alone") {
  TempDir dir;
  const auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);
  std::filesystem::create_directory(c.dnsmasq.state_dir);
  // The script's marker is on its second line: on the first, or after another first line,
  // it is not dashctl's.
  for (const std::string& theirs : std::vector<std::string>{
           "#!/bin/sh\nlogger \"$@\"\n", kMarker + "\nexec true\n", "#!/bin/bash\n" + kMarker + "\n",
           "#!/bin/sh\n\n" + kMarker + "\n", "#!/usr/bin/env python3 -u\n" + kMarker + "\n",
           "#! /bin/x y\n" + kMarker + "\n", "#!/bin/x \n" + kMarker + "\n"}) {
    util::write_file_atomic(p.dhcp_script, theirs, 0755);
    check_refused_as_foreign(c, p.dhcp_script);
    CHECK(util::read_file(p.dhcp_script) == theirs);
  }
  CHECK_FALSE(std::filesystem::exists(p.dropin));
}

TEST_CASE("another dhcp-script in dnsmasq's config is refused, naming where it is set") {
  TempDir dir;
  const auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);
  const std::string main_config = dir / "dnsmasq.conf";

  // What dnsmasq does not read as setting a dhcp-script.
  dir.write("dnsmasq.conf", "# dhcp-script=/etc/commented-out\ndhcp-scriptuser=nobody\ndhcp-luascript=/x.lua\n");
  dir.write("dnsmasq.d/.hidden", "dhcp-script=/x\n");
  dir.write("dnsmasq.d/old.conf~", "dhcp-script=/x\n");
  dir.write("dnsmasq.d/#auto#", "dhcp-script=/x\n");
  dir.write("dnsmasq.d/dnsmasq.conf.dpkg-old", "dhcp-script=/x\n");
  std::filesystem::create_directory(dir / "dnsmasq.d/sub.conf");
  dir.write("dnsmasq.d/other.conf", "domain-needed\n  #dhcp-script=/x\n");
  CHECK(plan_setup(render(c, kListen, kHelper), main_config).any_change());

  const auto refused = [&](const std::string& where) {
    const auto e = test::thrown_by([&] { plan_setup(render(c, kListen, kHelper), main_config); });
    CHECK(e.code() == util::Exit::data);
    CHECK(std::string(e.what()).starts_with(where + ": dnsmasq's dhcp-script is set there already"));
    CHECK(e.hint().find("dnsmasq.dhcp_script = false") != std::string::npos);
    CHECK(e.hint().find("dashctl dhcp-event") != std::string::npos);
  };
  dir.write("dnsmasq.d/other.conf", "domain-needed\n\n  dhcp-script = /usr/local/bin/lease-hook\n");
  refused(dir / "dnsmasq.d/other.conf:3");
  dir.write("dnsmasq.d/another", "dhcp-script=/x\n");
  refused(dir / "dnsmasq.d/another:1");  // in dnsmasq's order: by name
  dir.write("dnsmasq.conf", "\tdhcp-script=/etc/dnsmasq-hook\n");
  refused(main_config + ":1");
  // Nothing was written.
  CHECK_FALSE(std::filesystem::exists(c.dnsmasq.state_dir));
  CHECK_FALSE(std::filesystem::exists(p.dropin));

  // Without dashctl's script there is nothing to clash with.
  auto off = c;
  off.dnsmasq.dhcp_script = false;
  CHECK_NOTHROW(apply(plan_setup(render(off, kListen), main_config), off));
  // Its own drop-in's dhcp-script line is no clash either.
  std::filesystem::remove(main_config);
  std::filesystem::remove(dir / "dnsmasq.d/other.conf");
  std::filesystem::remove(dir / "dnsmasq.d/another");
  apply(plan_setup(render(c, kListen, kHelper), main_config), c);
  CHECK_FALSE(plan_setup(render(c, kListen, kHelper), main_config).any_change());
}

TEST_CASE("teardown removes what setup wrote, and only that") {
  TempDir dir;
  const auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);
  const auto neighbour = dir.write("dnsmasq.d/other.conf", "domain-needed\n");

  CHECK_FALSE(plan_teardown(c).any_change());  // nothing installed yet

  apply(plan_setup(render(c, kListen, kHelper)), c);
  const Plan plan = plan_teardown(c);
  REQUIRE(plan.files.size() == 4);
  CHECK(plan.dropin_changed);
  // The same when dnsmasq.dhcp_script was turned off since: the script goes too.
  auto off = c;
  off.dnsmasq.dhcp_script = false;
  CHECK(plan_teardown(off).files.size() == 4);
  // The drop-in goes first, so dnsmasq never reads one that names missing files.
  CHECK(plan.files.front().path == p.dropin);
  for (const auto& f : plan.files) {
    CHECK(f.change == Change::remove);
    CHECK(f.old_content.starts_with(f.path == p.dhcp_script ? "#!" + kHelper + " " : kMarker));
  }
  apply(plan, c);
  CHECK_FALSE(std::filesystem::exists(p.dropin));
  CHECK_FALSE(std::filesystem::exists(p.hosts));
  CHECK_FALSE(std::filesystem::exists(p.dhcp_hosts));
  CHECK_FALSE(std::filesystem::exists(p.dhcp_script));
  CHECK(entries(c.dnsmasq.state_dir) == 0);
  CHECK(util::read_file(neighbour) == "domain-needed\n");
  CHECK(plan_teardown(c).files.empty());
}

TEST_CASE("teardown of a partial install removes what is there") {
  TempDir dir;
  const auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);
  apply(plan_setup(render(c, kListen, kHelper)), c);
  util::remove_file(p.hosts);
  const Plan plan = plan_teardown(c);
  REQUIRE(plan.files.size() == 3);
  CHECK(plan.files[0].path == p.dropin);
  CHECK(plan.files[1].path == p.dhcp_hosts);
  CHECK(plan.files[2].path == p.dhcp_script);
}

TEST_CASE("a missing conf_dir means dnsmasq is not set up to read drop-ins") {
  TempDir dir;
  const auto c = test::sample_config(dir / "no-such-dir", dir / "state");
  const auto e = test::thrown_by([&] { apply(plan_setup(render(c, kListen, kHelper)), c); });
  CHECK(e.code() == util::Exit::unavailable);
  CHECK(std::string(e.what()).find(dir / "no-such-dir") != std::string::npos);
  CHECK(e.hint().find("conf-dir") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(c.dnsmasq.state_dir));
}

TEST_CASE("state_dir and its missing parents are created 0755 whatever the umask") {
  TempDir dir;
  std::filesystem::create_directory(dir / "dnsmasq.d");
  const auto c = test::sample_config(dir / "dnsmasq.d", dir / "var/lib/dashctl");
  const mode_t old = ::umask(077);
  apply(plan_setup(render(c, kListen, kHelper)), c);
  ::umask(old);
  CHECK(mode_of(dir / "var/lib") == 0755);
  CHECK(mode_of(dir / "var/lib/dashctl") == 0755);
  CHECK(mode_of(dir / "var/lib/dashctl/hosts") == 0644);
  CHECK(mode_of(dir / "var/lib/dashctl/dhcp-script") == 0755);
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

TEST_CASE("a first setup's dry-run diff shows the script") {
  TempDir dir;
  const auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);
  std::string all;
  for (const auto& f : plan_setup(render(c, kListen, kHelper)).files) all += diff(f);
  CHECK(all.find("--- /dev/null\n"
                 "+++ " + p.dhcp_script + "\n"
                 "@@ -0,0 +1,4 @@\n"
                 "+#!" + kHelper + " /run/dashctl/events.sock\n"
                 "+" + kMarker + "\n") !=
        std::string::npos);
  CHECK(all.find("+dhcp-script=" + p.dhcp_script + "\n") != std::string::npos);
}

TEST_CASE("a setup plan's diff is what apply then writes") {
  TempDir dir;
  auto c = config_in(dir);
  apply(plan_setup(render(c, kListen, kHelper)), c);
  c.buttons.erase(c.buttons.begin());  // kitchen
  const Plan plan = plan_setup(render(c, kListen, kHelper));
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

TEST_CASE("undo puts every file back as the plan found it: content and mode, or no file") {
  TempDir dir;
  auto c = config_in(dir);
  const auto p = paths(c.dnsmasq);
  apply(plan_setup(render(c, kListen, kHelper)), c);
  ::chmod(p.hosts.c_str(), 0600);  // a mode of the user's own, kept too
  // Each file's content and mode; nullopt and 0 for a missing one.
  const auto before = [&] {
    std::vector<std::pair<std::optional<std::string>, mode_t>> files;
    for (const auto& path : {p.dropin, p.hosts, p.dhcp_hosts, p.dhcp_script}) {
      const auto content = util::read_file(path);
      files.emplace_back(content, content ? mode_of(path) : 0);
    }
    return files;
  };
  const auto was = before();

  // Every kind of change at once: the drop-in updated, hosts updated, dhcp-hosts updated
  // and the dhcp-script removed; then again with a state_dir of new files.
  c.buttons.push_back(button("garage", "02:00:00:00:00:09", "10.77.0.209"));
  c.intercept.hostnames.push_back("dash-button-eu-aws-opf.amazon.com");
  c.dnsmasq.dhcp_script = false;
  const Plan change = plan_setup(render(c, kListen, kHelper));
  CHECK(change_of(change, p.dhcp_script) == Change::remove);
  apply(change, c);
  CHECK(util::read_file(p.dropin) != was[0].first);

  const Plan back = undo(change);
  CHECK(back.dropin_changed);
  // The script the old drop-in names comes back before the drop-in does.
  REQUIRE(back.files.size() == change.files.size());
  CHECK(back.files.front().path == p.dhcp_script);
  CHECK(back.files.front().change == Change::create);
  apply(back, c, DropinChecked::yes);
  CHECK(before() == was);
  CHECK(mode_of(p.hosts) == 0600);
  CHECK(mode_of(p.dhcp_script) == 0755);

  // Files the plan creates are removed again.
  c.dnsmasq.state_dir = dir / "elsewhere";
  const Plan moved = plan_setup(render(c, kListen, kHelper));
  apply(moved, c);
  CHECK(std::filesystem::exists(dir / "elsewhere/hosts"));
  apply(undo(moved), c, DropinChecked::yes);
  CHECK_FALSE(std::filesystem::exists(dir / "elsewhere/hosts"));
  CHECK_FALSE(std::filesystem::exists(dir / "elsewhere/dhcp-hosts"));
  CHECK(before() == was);

  // An undo of a plan that was never carried out changes nothing.
  apply(undo(plan_setup(render(c, kListen, kHelper))), c, DropinChecked::yes);
  CHECK(before() == was);
}
