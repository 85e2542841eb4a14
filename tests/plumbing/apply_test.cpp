// SPDX-License-Identifier: GPL-2.0-or-later
// apply_setup as a whole, on a fake machine (its table and its dnsmasq) with dnsmasq's files in
// a temporary directory: setup is all or nothing, so a failure after the table was replaced
// puts the table and the files back as they were.

#include "support/catch.h"

#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/load.h"
#include "plumbing/plumbing.h"
#include "support/thrown.h"
#include "support/tmpdir.h"
#include "util/error.h"
#include "util/fs.h"

using namespace dashctl;
using test::thrown_by;
using util::Error;
using util::Exit;

namespace {

/// The kernel's table inet dashctl and a dnsmasq whose reload and restart can be made to fail.
class FakeSystem final : public plumbing::System {
 public:
  std::optional<nft::Installed> table;  ///< what the kernel holds; nullopt: no table
  std::optional<Error> refresh_fails;   ///< thrown by a reload or restart
  bool running = true;                  ///< dnsmasq's state; a failed restart leaves it stopped
  bool put_back_fails = false;          ///< the table cannot be put back
  std::vector<std::string> calls;

  std::optional<nft::Installed> read_table(const std::string&, const std::string& name) override {
    return name == "dashctl" ? table : std::nullopt;
  }
  std::function<void()> replace_table(const nft::Ruleset& rs) override {
    calls.push_back("replace table");
    const auto before = table;
    table = nft::expected(rs);
    return [this, before] {
      if (put_back_fails) throw Error(Exit::no_perm, "putting back table inet dashctl: Operation not permitted");
      calls.push_back("put back table");
      table = before;
    };
  }
  bool remove_table(const std::string&, const std::string& name) override {
    if (name != "dashctl" || !table) return false;
    table.reset();
    return true;
  }
  std::optional<bool> dnsmasq_running(const config::Reload&) override { return running; }
  void refresh_dnsmasq(const config::Reload&, dnsmasq::Refresh what) override {
    calls.push_back(what == dnsmasq::Refresh::reload ? "reload" : "restart");
    if (!refresh_fails) return;
    if (what == dnsmasq::Refresh::restart) running = false;  // stopped, and not started again
    throw *refresh_fails;
  }
};

/// A config of the lab's values, dnsmasq's directories in a temporary one (conf_dir exists, as
/// dnsmasq's would), and the plan for it as it is on disk now.
struct Workspace {
  test::TempDir dir;
  std::string config = [this] {
    std::filesystem::create_directories(dir / "dnsmasq.d");
    return dir.write("dashctl.toml", "[network]\niot_interface = \"br-iot\"\nlisten_address = \"10.77.0.1\"\n"
                                     "subnet = \"10.77.0.0/24\"\n[dnsmasq]\nconf_dir = \"" +
                                         dir.path() + "/dnsmasq.d\"\nstate_dir = \"" + dir.path() +
                                         "/state\"\ndhcp_script = false\n");
  }();
  FakeSystem sys;

  config::Config loaded() const { return config::load(config); }
  plumbing::Report setup() {
    const auto c = loaded();
    const plumbing::Effective e{*util::Ipv4::parse("10.77.0.1"), util::Ipv4Prefix::parse("10.77.0.0/24")};
    return plumbing::apply_setup(c, plumbing::plan_setup(c, e), sys);
  }
  /// Every file below the directory but the config's, with its content and mode.
  std::map<std::string, std::pair<std::string, mode_t>> files() const {
    std::map<std::string, std::pair<std::string, mode_t>> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
      const auto path = e.path().string();
      if (!e.is_regular_file() || path.find("/buttons.d/") != std::string::npos || path == config) continue;
      struct stat st {};
      ::stat(path.c_str(), &st);
      out[path.substr(dir.path().size())] = {*util::read_file(path), st.st_mode & 07777};
    }
    return out;
  }
  void add_button() const {
    dir.write("buttons.d/hall.toml", "mac = \"68:54:fd:12:34:56\"\nip = \"10.77.0.201\"\n");
  }
};

const char* kReloadFails = "/bin/false reload failed: exit status 1";

}  // namespace

TEST_CASE("a reload that fails after a change puts the table and dnsmasq's files back as they were") {
  Workspace ws;
  ws.setup();
  ::chmod((ws.dir / "state/hosts").c_str(), 0600);  // the user's own mode is put back too
  const auto table = ws.sys.table;
  const auto files = ws.files();
  REQUIRE(table);
  REQUIRE(files.contains("/state/dhcp-hosts"));

  ws.add_button();
  ws.sys.refresh_fails = Error(Exit::unavailable, kReloadFails, "fix dnsmasq.reload");
  ws.sys.calls.clear();
  const auto e = thrown_by([&] { ws.setup(); });
  CHECK(e.code() == Exit::unavailable);
  CHECK(std::string(e.what()) == std::string(kReloadFails) +
                                     "; setup put everything back as it was: table inet dashctl and dnsmasq's files");
  CHECK(e.hint() == "fix dnsmasq.reload");
  CHECK(ws.sys.calls == std::vector<std::string>{"replace table", "reload", "put back table"});
  CHECK(ws.sys.table == table);
  // The same files with the same content and mode, but for the mark that a reload may be due:
  // the failed one may have reached dnsmasq, and the next setup reloads it.
  auto after = ws.files();
  CHECK(after.erase("/state/reload-pending") == 1);
  CHECK(after == files);

  // Once dnsmasq can be reloaded, setup does all of it.
  ws.sys.refresh_fails.reset();
  const auto report = ws.setup();
  CHECK(report.changed);
  CHECK(ws.sys.table != table);
  CHECK(ws.files().at("/state/dhcp-hosts").first.find("68:54:fd:12:34:56,10.77.0.201,hall") != std::string::npos);
  CHECK_FALSE(ws.files().contains("/state/reload-pending"));
}

TEST_CASE("a first setup whose restart fails leaves no table and no files, and says dnsmasq is down") {
  Workspace ws;
  ws.sys.refresh_fails = Error(Exit::unavailable, "dnsmasq did not start again after being stopped: exit status 2");
  const auto e = thrown_by([&] { ws.setup(); });
  CHECK(std::string(e.what()) ==
        "dnsmasq did not start again after being stopped: exit status 2; setup put everything back as it was: "
        "table inet dashctl and dnsmasq's files; dnsmasq is not running now");
  CHECK(ws.sys.calls == std::vector<std::string>{"replace table", "restart", "put back table"});
  CHECK_FALSE(ws.sys.table);
  CHECK(ws.files() == decltype(ws.files()){{"/state/reload-pending", {"restart\n", 0644}}});
}

TEST_CASE("when the table cannot be put back, the error says so and what was put back") {
  Workspace ws;
  ws.setup();
  const auto files = ws.files();
  ws.add_button();
  ws.sys.refresh_fails = Error(Exit::unavailable, kReloadFails);
  ws.sys.put_back_fails = true;
  const auto e = thrown_by([&] { ws.setup(); });
  CHECK(std::string(e.what()) == std::string(kReloadFails) +
                                     "; setup could not put back table inet dashctl (putting back table inet dashctl: "
                                     "Operation not permitted); it put back dnsmasq's files");
  auto after = ws.files();
  after.erase("/state/reload-pending");
  CHECK(after == files);
}

TEST_CASE("a reload left pending that fails again puts back the table it replaced (the files were current)") {
  Workspace ws;
  ws.setup();
  const auto table = ws.sys.table;
  ws.dir.write("state/reload-pending", "reload\n");
  ws.sys.table->chains.front().rules.clear();  // someone changed the table meanwhile
  const auto changed = ws.sys.table;
  const auto files = ws.files();

  ws.sys.refresh_fails = Error(Exit::unavailable, kReloadFails);
  const auto e = thrown_by([&] { ws.setup(); });
  CHECK(std::string(e.what()) == std::string(kReloadFails) + "; setup put everything back as it was: table inet dashctl");
  CHECK(ws.sys.table == changed);
  CHECK(ws.files() == files);

  // A table already current is not touched, and so has nothing to put back.
  ws.sys.table = table;
  const auto same = thrown_by([&] { ws.setup(); });
  CHECK(std::string(same.what()) == kReloadFails);
  CHECK(ws.sys.table == table);
}
