// What dnsmasq is given: the three files, byte for byte, and the values that must never
// reach them.

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>

#include "dnsmasq/files.h"
#include "dnsmasq/sample.h"
#include "util/error.h"

using namespace dashctl;
using namespace dashctl::dnsmasq;
using dashctl::test::button;
using dashctl::test::kListen;
using dashctl::test::sample_config;

namespace {

const std::string kMarkerLine =
    "# Managed by dashctl: do not edit. dashctl setup rewrites it, dashctl teardown removes it.\n";

util::Exit code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const util::Error& e) {
    return e.code();
  }
  return util::Exit::ok;
}

}  // namespace

TEST_CASE("render writes the drop-in, the hosts file and the static leases") {
  const auto c = sample_config("/etc/dnsmasq.d", "/var/lib/dashctl");
  const Rendered r = render(c, kListen);

  CHECK(r.dropin.path == "/etc/dnsmasq.d/dashctl.conf");
  CHECK(r.dropin.content == kMarkerLine +
                                "addn-hosts=/var/lib/dashctl/hosts\n"
                                "dhcp-hostsfile=/var/lib/dashctl/dhcp-hosts\n");

  CHECK(r.hosts.path == "/var/lib/dashctl/hosts");
  CHECK(r.hosts.content == kMarkerLine +
                               "10.77.0.1 dash-button-na-aws-opf.amazon.com\n"
                               "10.77.0.1 parker-gateway-na.amazon.com\n");

  // Sorted by name; only buttons with both a MAC and an address get a lease.
  CHECK(r.dhcp_hosts.path == "/var/lib/dashctl/dhcp-hosts");
  CHECK(r.dhcp_hosts.content == kMarkerLine +
                                    "68:54:fd:12:34:56,10.77.0.201,bedroom\n"
                                    "ac:63:be:00:00:02,10.77.0.202,kitchen\n");
}

TEST_CASE("render with no buttons and a trailing slash in the directories") {
  auto c = sample_config("/etc/dnsmasq.d/", "/srv/dashctl/");
  c.buttons.clear();
  const Rendered r = render(c, kListen);
  CHECK(r.dropin.path == "/etc/dnsmasq.d/dashctl.conf");
  CHECK(r.hosts.path == "/srv/dashctl/hosts");
  CHECK(r.dhcp_hosts.content == kMarkerLine);
}

TEST_CASE("render is deterministic whatever the order of the buttons") {
  auto c = sample_config("/etc/dnsmasq.d", "/var/lib/dashctl");
  const auto before = render(c, kListen).dhcp_hosts.content;
  std::reverse(c.buttons.begin(), c.buttons.end());
  CHECK(render(c, kListen).dhcp_hosts.content == before);
}

TEST_CASE("nothing unvalidated reaches a dnsmasq file") {
  const auto base = sample_config("/etc/dnsmasq.d", "/var/lib/dashctl");

  SECTION("a button name with a comma, a newline or a '#'") {
    for (const std::string name : {"a,b", "a\nb", "a#b", "", "Upper"}) {
      auto c = base;
      c.buttons.push_back(button(name, "02:00:00:00:00:01", "10.77.0.210"));
      CHECK(code_of([&] { render(c, kListen); }) == util::Exit::software);
    }
  }
  SECTION("an intercepted hostname that is not a host name") {
    for (const std::string host : {"evil.example\naddress=/#/1.2.3.4", "a b", "x#y", "a,b", ""}) {
      auto c = base;
      c.intercept.hostnames.push_back(host);
      CHECK(code_of([&] { render(c, kListen); }) == util::Exit::software);
    }
  }
  SECTION("a state_dir that dnsmasq's config syntax would misread is the user's to fix") {
    for (const std::string dir : {"/var/lib/dash ctl", "/var/lib/a,b", "/var/lib/#x", "/x\ny"}) {
      auto c = base;
      c.dnsmasq.state_dir = dir;
      CHECK(code_of([&] { render(c, kListen); }) == util::Exit::data);
    }
  }
  SECTION("a state_dir that is the conf_dir, where dnsmasq would read the hosts files as config") {
    auto c = base;
    c.dnsmasq.state_dir = "/etc/dnsmasq.d/./";
    CHECK(code_of([&] { render(c, kListen); }) == util::Exit::data);
  }
}
