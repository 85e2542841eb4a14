// SPDX-License-Identifier: GPL-2.0-or-later
// What every command that changes a button does after writing it: setup applied again only
// where it has run and can be seen, the daemon told, and an honest error when applying
// fails after the save. The machine is a fake; the config is real, in a temporary directory.

#include "support/catch.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/load.h"
#include "plumbing/button.h"
#include "support/thrown.h"
#include "support/tmpdir.h"
#include "util/error.h"

using namespace dashctl;
using plumbing::ButtonChange;
using Setup = plumbing::ButtonChange::Setup;
using test::thrown_by;
using util::Error;
using util::Exit;

namespace {

/// The machine as button_changed sees it, with what it was asked.
struct FakeHost : plumbing::Host {
  bool set_up = true;
  std::optional<Error> reading_fails;  ///< thrown by setup_has_run
  std::optional<Error> apply_fails;    ///< thrown by apply_setup
  bool daemon_listens = true;
  bool daemon_fails = false;

  std::vector<config::Config> applied;  ///< the configs apply_setup was given
  std::vector<std::string> asked;       ///< the control sockets reload_daemon was given

  bool setup_has_run() override {
    if (reading_fails) throw *reading_fails;
    return set_up;
  }
  plumbing::Report apply_setup(const config::Config& c) override {
    applied.push_back(c);
    if (apply_fails) throw *apply_fails;
    return {{"dnsmasq: updated dhcp-hosts", "dnsmasq: reloaded (SIGHUP: it re-reads the hosts files)"}, true};
  }
  bool reload_daemon(const std::string& control_socket) override {
    asked.push_back(control_socket);
    if (daemon_fails) throw Error(Exit::unavailable, "the daemon at " + control_socket + " did not answer in time");
    return daemon_listens;
  }
};

struct Workspace {
  test::TempDir dir;
  std::string config = dir.write("dashctl.toml", "[network]\niot_interface = \"br-iot\"\n"
                                                 "listen_address = \"10.77.0.1\"\nsubnet = \"10.77.0.0/24\"\n"
                                                 "[daemon]\ncontrol_socket = \"" +
                                                     dir.path() + "/control.sock\"\n");
  std::string socket = dir / "control.sock";
  std::string file(const std::string& name) const { return dir / ("buttons.d/" + name + ".toml"); }
};

config::Button hall() {
  config::Button b;
  b.name = "hall";
  b.mac = util::Mac::parse("68:54:fd:12:34:56");
  b.ip = util::Ipv4::parse("10.77.0.201");
  return b;
}

plumbing::AddButton add_hall() { return {hall()}; }

}  // namespace

TEST_CASE("an added button, where setup has run: written, setup applied with it, the daemon told") {
  Workspace ws;
  FakeHost host;
  const auto change = plumbing::button_changed(ws.config, add_hall(), "button add", host);
  CHECK(change.file == ws.file("hall"));
  CHECK(std::filesystem::exists(change.file));
  CHECK(change.setup == Setup::applied);
  CHECK(change.lines.size() == 2);
  REQUIRE(host.applied.size() == 1);
  const auto* b = host.applied[0].find_button("hall");
  REQUIRE(b);
  CHECK(b->ip == util::Ipv4::parse("10.77.0.201"));
  CHECK(host.asked == std::vector<std::string>{ws.socket});
  CHECK(change.daemon_reloaded);
}

TEST_CASE("where setup has not run nothing is applied, and the daemon is told all the same") {
  Workspace ws;
  FakeHost host;
  host.set_up = false;
  host.daemon_listens = false;
  const auto change = plumbing::button_changed(ws.config, add_hall(), "button add", host);
  CHECK(std::filesystem::exists(ws.file("hall")));
  CHECK(change.setup == Setup::not_set_up);
  CHECK(host.applied.empty());
  CHECK(change.lines.empty());
  CHECK(host.asked.size() == 1);
  CHECK_FALSE(change.daemon_reloaded);
}

TEST_CASE("without the privilege to see the table nothing is applied, and that is said") {
  Workspace ws;
  FakeHost host;
  host.reading_fails = Error(Exit::no_perm, "reading table inet dashctl: Operation not permitted");
  const auto change = plumbing::button_changed(ws.config, add_hall(), "button add", host);
  CHECK(std::filesystem::exists(ws.file("hall")));
  CHECK(change.setup == Setup::no_privilege);
  CHECK(host.applied.empty());
  CHECK(change.daemon_reloaded);
}

TEST_CASE("when applying fails after the save, the error says the button is saved and how to finish") {
  Workspace ws;
  FakeHost host;
  host.apply_fails = Error(Exit::unavailable, "/bin/false reload failed");
  auto e = thrown_by([&] { plumbing::button_changed(ws.config, add_hall(), "learn", host); });
  CHECK(e.code() == Exit::unavailable);
  CHECK(std::string(e.what()) ==
        "learn: saved button hall in " + ws.file("hall") + ", but could not apply the setup: /bin/false reload failed");
  CHECK(e.hint().find("run 'dashctl setup'") != std::string::npos);
  CHECK(std::filesystem::exists(ws.file("hall")));
  CHECK(host.asked.empty());  // as the error says: nothing after the failure

  // The cause's own hint, where it has one, is the better one.
  host.apply_fails = Error(Exit::no_perm, "cannot write /etc/dnsmasq.d: Permission denied", "run them as root");
  e = thrown_by([&] { plumbing::button_changed(ws.config, plumbing::RemoveButton{"hall"}, "button remove", host); });
  CHECK(e.code() == Exit::no_perm);
  CHECK(std::string(e.what()).starts_with("button remove: removed button hall (" + ws.file("hall") +
                                          "), but could not apply the setup: cannot write"));
  CHECK(e.hint() == "run them as root");
  CHECK_FALSE(std::filesystem::exists(ws.file("hall")));
}

TEST_CASE("a table that cannot be read for another reason than permission is an error after the save") {
  Workspace ws;
  FakeHost host;
  host.reading_fails = Error(Exit::os, "reading table inet dashctl: Protocol not supported");
  const auto e = thrown_by([&] { plumbing::button_changed(ws.config, add_hall(), "button add", host); });
  CHECK(e.code() == Exit::os);
  CHECK(std::string(e.what()).starts_with("button add: saved button hall in "));
  CHECK(host.applied.empty());
}

TEST_CASE("a removed button's lease and rules go: setup is applied without it") {
  Workspace ws;
  FakeHost host;
  plumbing::button_changed(ws.config, add_hall(), "button add", host);
  const auto change = plumbing::button_changed(ws.config, plumbing::RemoveButton{"hall"}, "button remove", host);
  CHECK_FALSE(std::filesystem::exists(ws.file("hall")));
  CHECK(change.file == ws.file("hall"));
  CHECK(change.setup == Setup::applied);
  REQUIRE(host.applied.size() == 2);
  CHECK(host.applied[1].find_button("hall") == nullptr);
  CHECK(host.asked.size() == 2);
}

TEST_CASE("a renamed button's lease follows its name: setup is applied with the new one") {
  Workspace ws;
  FakeHost host;
  plumbing::button_changed(ws.config, add_hall(), "button add", host);
  const auto change =
      plumbing::button_changed(ws.config, plumbing::RenameButton{"hall", "porch"}, "button rename", host);
  CHECK(change.file == ws.file("porch"));
  CHECK(change.setup == Setup::applied);
  REQUIRE(host.applied.size() == 2);
  CHECK(host.applied[1].find_button("hall") == nullptr);
  REQUIRE(host.applied[1].find_button("porch"));
  CHECK(host.applied[1].find_button("porch")->mac == util::Mac::parse("68:54:fd:12:34:56"));
}

TEST_CASE("a change that leaves the config with problems applies nothing and asks no daemon") {
  Workspace ws;
  FakeHost host;
  plumbing::button_changed(ws.config, add_hall(), "button add", host);
  ws.dir.write("buttons.d/broken.toml", "mac = \"nope\"\n");
  host.applied.clear();
  host.asked.clear();
  // remove works on a broken config, so that the file that breaks it can go; another one
  // going leaves the problem.
  auto change = plumbing::button_changed(ws.config, plumbing::RemoveButton{"hall"}, "button remove", host);
  CHECK_FALSE(std::filesystem::exists(ws.file("hall")));
  CHECK(change.setup == Setup::bad_config);
  CHECK(change.problem.find(ws.file("broken")) != std::string::npos);
  CHECK(host.applied.empty());
  CHECK(host.asked.empty());
  CHECK_FALSE(change.daemon_reloaded);

  change = plumbing::button_changed(ws.config, plumbing::RemoveButton{"broken"}, "button remove", host);
  CHECK(change.setup == Setup::applied);
  CHECK(host.applied.size() == 1);
}

TEST_CASE("a refused change writes nothing, applies nothing and asks no daemon") {
  Workspace ws;
  FakeHost host;
  plumbing::button_changed(ws.config, add_hall(), "button add", host);
  host.applied.clear();
  host.asked.clear();
  auto again = hall();
  again.name = "porch";  // the same MAC
  CHECK_THROWS_WITH(plumbing::button_changed(ws.config, plumbing::AddButton{again}, "button add", host),
                    Catch::Contains("button add: MAC 68:54:fd:12:34:56 of button 'porch' is already used"));
  CHECK_THROWS_AS(plumbing::button_changed(ws.config, plumbing::RemoveButton{"nobody"}, "button remove", host),
                  Error);
  CHECK_FALSE(std::filesystem::exists(ws.file("porch")));
  CHECK(host.applied.empty());
  CHECK(host.asked.empty());
}

TEST_CASE("a daemon that answers badly costs only the reload") {
  Workspace ws;
  FakeHost host;
  host.daemon_fails = true;
  const auto change = plumbing::button_changed(ws.config, add_hall(), "button add", host);
  CHECK(change.setup == Setup::applied);
  CHECK_FALSE(change.daemon_reloaded);
  CHECK(std::filesystem::exists(ws.file("hall")));
}
