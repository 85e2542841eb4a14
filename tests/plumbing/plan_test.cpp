// SPDX-License-Identifier: GPL-2.0-or-later
// The parts of the plumbing that need no root: what setup would change on disk and in the
// table for a config (dnsmasq's files in a temporary directory), what the config means on
// an interface every machine has (lo), and learn's lock.

#include "support/catch.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "config/load.h"
#include "plumbing/plumbing.h"
#include "support/tmpdir.h"
#include "util/error.h"

using namespace dashctl;
using util::Error;
using util::Exit;

namespace {

const char* kHallMac = "68:54:fd:12:34:56";

struct Workspace {
  test::TempDir dir;
  std::string config = dir.write("dashctl.toml", "[network]\niot_interface = \"br-iot\"\n"
                                                 "listen_address = \"10.77.0.1\"\nsubnet = \"10.77.0.0/24\"\n"
                                                 "[dnsmasq]\nconf_dir = \"" +
                                                     dir.path() + "/dnsmasq.d\"\nstate_dir = \"" + dir.path() +
                                                     "/state\"\ndhcp_script = false\n");
  plumbing::Effective effective{*util::Ipv4::parse("10.77.0.1"), util::Ipv4Prefix::parse("10.77.0.0/24")};

  plumbing::Plan plan() const { return plumbing::plan_setup(config::load(config), effective); }
};

const dnsmasq::FileChange* file(const plumbing::Plan& p, const std::string& name) {
  for (const auto& f : p.files.files)
    if (f.path.ends_with("/" + name)) return &f;
  return nullptr;
}

/// Writes what the plan wants, as setup would.
void write_all(const plumbing::Plan& p) {
  for (const auto& f : p.files.files) {
    std::filesystem::create_directories(std::filesystem::path(f.path).parent_path());
    std::ofstream(f.path, std::ios::binary) << f.new_content;
  }
}

bool logs_mac(const nft::Ruleset& rs, const std::string& mac) {
  for (const auto& c : rs.chains)
    for (const auto& r : c.rules)
      if (r.ether_saddr && r.ether_saddr->str() == mac && r.verdict == nft::Verdict::log) return true;
  return false;
}

}  // namespace

TEST_CASE("setup's plan in an empty directory creates dnsmasq's files, and a button gets its lease and its rules") {
  Workspace ws;
  ws.dir.write("buttons.d/hall.toml", std::string("mac = \"") + kHallMac + "\"\nip = \"10.77.0.201\"\n");
  ws.dir.write("buttons.d/porch.toml", "ip = \"10.77.0.202\"\n");
  const auto p = ws.plan();
  CHECK(p.files.dropin_changed);
  for (const auto* name : {"dashctl.conf", "hosts", "dhcp-hosts"}) {
    const auto* f = file(p, name);
    REQUIRE(f);
    CHECK(f->change == dnsmasq::Change::create);
  }
  // A static lease needs both a MAC and an address: porch has no line.
  const auto& leases = file(p, "dhcp-hosts")->new_content;
  CHECK(leases.find(std::string(kHallMac) + ",10.77.0.201,hall\n") != std::string::npos);
  CHECK(leases.find("porch") == std::string::npos);
  CHECK(p.ruleset.table == "dashctl");
  CHECK(logs_mac(p.ruleset, kHallMac));
}

TEST_CASE("once setup wrote its files the plan is empty, and a new button then needs only a reload") {
  Workspace ws;
  write_all(ws.plan());
  CHECK_FALSE(ws.plan().files.any_change());

  ws.dir.write("buttons.d/hall.toml", std::string("mac = \"") + kHallMac + "\"\nip = \"10.77.0.201\"\n");
  const auto p = ws.plan();
  CHECK(p.files.any_change());
  // The drop-in is the same, so dnsmasq is reloaded (SIGHUP), never restarted, for a button.
  CHECK_FALSE(p.files.dropin_changed);
  CHECK(file(p, "dhcp-hosts")->change == dnsmasq::Change::update);
  CHECK(file(p, "dashctl.conf")->change == dnsmasq::Change::unchanged);
  CHECK(file(p, "hosts")->change == dnsmasq::Change::unchanged);
  CHECK(logs_mac(p.ruleset, kHallMac));

  // Removed again: the line goes, and so do the rules.
  write_all(p);
  std::filesystem::remove(ws.dir / "buttons.d/hall.toml");
  const auto after = ws.plan();
  CHECK(file(after, "dhcp-hosts")->change == dnsmasq::Change::update);
  CHECK(file(after, "dhcp-hosts")->new_content.find(kHallMac) == std::string::npos);
  CHECK_FALSE(logs_mac(after.ruleset, kHallMac));
}

TEST_CASE("resolve takes the listen address and the network from the interface where the config leaves them") {
  config::Config c;
  c.path = "dashctl.toml";
  c.network.iot_interface = "lo";
  const auto lo = plumbing::resolve(c);
  CHECK(lo.listen_address.str() == "127.0.0.1");
  REQUIRE(lo.subnet);
  CHECK(lo.subnet->contains(*util::Ipv4::parse("127.0.0.1")));

  c.network.lease_range = util::Ipv4Range::parse("10.77.0.200-10.77.0.249");
  CHECK_THROWS_WITH(plumbing::resolve(c), Catch::Contains("is not inside lo's network"));
  c.network.lease_range.reset();

  c.network.listen_address = util::Ipv4::parse("10.77.0.1");
  try {
    plumbing::resolve(c);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::data);
    CHECK(std::string(e.what()).starts_with("network.listen_address 10.77.0.1 is not an address of lo"));
  }

  c.network.iot_interface = "dt-no-such0";
  try {
    plumbing::resolve(c);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::unavailable);
    CHECK(std::string(e.what()) == "interface dt-no-such0 does not exist");
  }
}

TEST_CASE("one learn at a time: the second lock on state_dir is refused, the first one's release frees it") {
  test::TempDir dir;
  config::Config c;
  c.dnsmasq.state_dir = dir / "state";  // created by the first lock
  {
    const auto first = plumbing::lock_learn(c);
    REQUIRE(first);
    try {
      plumbing::lock_learn(c);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.code() == Exit::temp_fail);
      CHECK(std::string(e.what()) == "another 'dashctl learn' is running (it holds " + c.dnsmasq.state_dir + ")");
    }
  }
  CHECK(plumbing::lock_learn(c));
}
