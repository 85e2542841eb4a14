// SPDX-License-Identifier: GPL-2.0-or-later
// What dnsmasq is given: the drop-in, the hosts files and the dhcp-script, byte for byte,
// and the values that must never reach them.

#include "support/catch.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>

#include "dnsmasq/files.h"
#include "dnsmasq/sample.h"
#include "support/tmpdir.h"
#include "util/error.h"

using namespace dashctl;
using namespace dashctl::dnsmasq;
using dashctl::test::button;
using dashctl::test::kBinary;
using dashctl::test::kListen;
using dashctl::test::sample_config;
using dashctl::test::TempDir;

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

TEST_CASE("render writes the drop-in, the hosts file, the static leases and the dhcp-script") {
  const auto c = sample_config("/etc/dnsmasq.d", "/var/lib/dashctl");
  const Rendered r = render(c, kListen, kBinary);

  CHECK(r.dropin.path == "/etc/dnsmasq.d/dashctl.conf");
  CHECK(r.dropin.content == kMarkerLine +
                                "addn-hosts=/var/lib/dashctl/hosts\n"
                                "dhcp-hostsfile=/var/lib/dashctl/dhcp-hosts\n"
                                "dhcp-script=/var/lib/dashctl/dhcp-script\n");
  CHECK(r.dropin.mode == 0644);

  CHECK(r.hosts.path == "/var/lib/dashctl/hosts");
  CHECK(r.hosts.content == kMarkerLine +
                               "10.77.0.1 dash-button-na-aws-opf.amazon.com\n"
                               "10.77.0.1 parker-gateway-na.amazon.com\n");

  // Sorted by name; only buttons with both a MAC and an address get a lease.
  CHECK(r.dhcp_hosts.path == "/var/lib/dashctl/dhcp-hosts");
  CHECK(r.dhcp_hosts.content == kMarkerLine +
                                    "68:54:fd:12:34:56,10.77.0.201,bedroom\n"
                                    "ac:63:be:00:00:02,10.77.0.202,kitchen\n");

  // A script: the shebang first, the marker second; the socket given, so that it never
  // reads the config.
  CHECK(r.dhcp_script.path == "/var/lib/dashctl/dhcp-script");
  CHECK(r.dhcp_script.mode == 0755);
  CHECK(r.dhcp_script.content == "#!/bin/sh\n" + kMarkerLine +
                                     "exec '/usr/bin/dashctl' dhcp-event --socket '/run/dashctl/events.sock' -- \"$@\"\n");
}

TEST_CASE("render without dnsmasq.dhcp_script leaves the script out of the drop-in") {
  auto c = sample_config("/etc/dnsmasq.d", "/var/lib/dashctl");
  c.dnsmasq.dhcp_script = false;
  const Rendered r = render(c, kListen, "relative/is/never/looked/at");
  CHECK(r.dropin.content == kMarkerLine +
                                "addn-hosts=/var/lib/dashctl/hosts\n"
                                "dhcp-hostsfile=/var/lib/dashctl/dhcp-hosts\n");
  // The path stays known, so that setup can remove a script an earlier setup wrote.
  CHECK(r.dhcp_script.path == "/var/lib/dashctl/dhcp-script");
  CHECK(r.dhcp_script.content.empty());
}

TEST_CASE("render runs this very binary by default") {
  const std::string self = self_executable();
  CHECK(self.starts_with('/'));
  CHECK(::access(self.c_str(), X_OK) == 0);
  const auto c = sample_config("/etc/dnsmasq.d", "/var/lib/dashctl");
  CHECK(render(c, kListen).dhcp_script.content.find("exec '" + self + "' dhcp-event") != std::string::npos);
}

TEST_CASE("the dhcp-script quotes its paths for the shell") {
  auto c = sample_config("/etc/dnsmasq.d", "/var/lib/dashctl");
  c.daemon.event_socket = "/run/it's $HOME/`x` \"e\".sock";
  const Rendered r = render(c, kListen, "/opt/bob's dashctl/dashctl");
  CHECK(r.dhcp_script.content.ends_with(
      "exec '/opt/bob'\\''s dashctl/dashctl' dhcp-event --socket '/run/it'\\''s $HOME/`x` \"e\".sock' -- \"$@\"\n"));
}

TEST_CASE("the dhcp-script hands dnsmasq's arguments over as they are") {
  // The real /bin/sh runs the script, with a stand-in for dashctl that prints its argv.
  TempDir dir;
  const std::string binary = dir / "it's here/dashctl";
  dir.write("it's here/dashctl", "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n");
  REQUIRE(::chmod(binary.c_str(), 0755) == 0);
  auto c = sample_config("/etc/dnsmasq.d", "/var/lib/dashctl");
  c.daemon.event_socket = dir / "ev'ents.sock";
  const auto script = dir.write("dhcp-script", render(c, kListen, binary).dhcp_script.content);
  REQUIRE(::chmod(script.c_str(), 0755) == 0);

  const std::string command = "'" + script + "' old ac:63:be:00:00:01 10.77.0.201 '-v --x $y'";
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[256];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  CHECK(::pclose(p) == 0);
  CHECK(out == "[dhcp-event]\n[--socket]\n[" + c.daemon.event_socket +
                   "]\n[--]\n[old]\n[ac:63:be:00:00:01]\n[10.77.0.201]\n[-v --x $y]\n");
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
  SECTION("a control character in the dhcp-script's paths is the user's to fix") {
    for (const std::string path : {"/run/a\nb.sock", "/run/a\rb.sock", "/run/a\x7f.sock", "/run/a\tb"}) {
      auto c = base;
      c.daemon.event_socket = path;
      CHECK(code_of([&] { render(c, kListen, kBinary); }) == util::Exit::data);
      c.daemon.event_socket = "/run/dashctl/events.sock";
      CHECK(code_of([&] { render(c, kListen, path); }) == util::Exit::data);
    }
  }
  SECTION("a dhcp-script without an absolute binary or a socket is a bug") {
    auto c = base;
    CHECK(code_of([&] { render(c, kListen, "dashctl"); }) == util::Exit::software);
    CHECK(code_of([&] { render(c, kListen, ""); }) == util::Exit::software);
    c.daemon.event_socket.clear();
    CHECK(code_of([&] { render(c, kListen, kBinary); }) == util::Exit::software);
  }
}
