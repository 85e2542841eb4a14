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
using dashctl::test::kHelper;
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
  const Rendered r = render(c, kListen, kHelper);

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

  // A script the kernel runs: its "#!" line names the helper and the socket, so that neither a
  // shell nor the config is read; the marker second.
  CHECK(r.dhcp_script.path == "/var/lib/dashctl/dhcp-script");
  CHECK(r.dhcp_script.mode == 0755);
  CHECK(r.dhcp_script.content ==
        "#!/usr/libexec/dashctl/dhcp-script /run/dashctl/events.sock\n" + kMarkerLine +
            "# dnsmasq runs this file for every lease event: the kernel runs the program above with the\n"
            "# socket, this file and dnsmasq's arguments, and it hands a button's wake-up to 'dashctl run'.\n");
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

TEST_CASE("render names the helper installed beside this very binary by default") {
  // The build tree mirrors the installed layout: this test's directory is as deep as dashctl's.
  const std::string helper = dhcp_script_helper();
  CHECK(helper.starts_with('/'));
  CHECK(helper.ends_with("/dashctl/dhcp-script"));
  CHECK(helper.find("/../") == std::string::npos);
  CHECK(::access(helper.c_str(), X_OK) == 0);
  const auto c = sample_config("/etc/dnsmasq.d", "/var/lib/dashctl");
  CHECK(render(c, kListen).dhcp_script.content.starts_with("#!" + helper + " /run/dashctl/events.sock\n"));
}

TEST_CASE("the dhcp-script hands dnsmasq's arguments over as they are, through the kernel") {
  // The kernel runs the script, with a stand-in for the helper that prints its argv (a script
  // may name another script as its program).
  TempDir dir;
  const std::string helper = dir / "libexec/dhcp-script";
  dir.write("libexec/dhcp-script", "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n");
  REQUIRE(::chmod(helper.c_str(), 0755) == 0);
  auto c = sample_config("/etc/dnsmasq.d", "/var/lib/dashctl");
  c.daemon.event_socket = dir / "ev'ents.sock";
  const auto script = dir.write("dhcp-script", render(c, kListen, helper).dhcp_script.content);
  REQUIRE(::chmod(script.c_str(), 0755) == 0);

  const std::string command = "'" + script + "' old ac:63:be:00:00:01 10.77.0.201 '-v --x $y'";
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[256];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  CHECK(::pclose(p) == 0);
  CHECK(out == "[" + c.daemon.event_socket + "]\n[" + script + "]\n[old]\n[ac:63:be:00:00:01]\n[10.77.0.201]\n[-v --x $y]\n");
}

TEST_CASE("render with no buttons and a trailing slash in the directories") {
  auto c = sample_config("/etc/dnsmasq.d/", "/srv/dashctl/");
  c.buttons.clear();
  const Rendered r = render(c, kListen, kHelper);
  CHECK(r.dropin.path == "/etc/dnsmasq.d/dashctl.conf");
  CHECK(r.hosts.path == "/srv/dashctl/hosts");
  CHECK(r.dhcp_hosts.content == kMarkerLine);
}

TEST_CASE("render is deterministic whatever the order of the buttons") {
  auto c = sample_config("/etc/dnsmasq.d", "/var/lib/dashctl");
  const auto before = render(c, kListen, kHelper).dhcp_hosts.content;
  std::reverse(c.buttons.begin(), c.buttons.end());
  CHECK(render(c, kListen, kHelper).dhcp_hosts.content == before);
}

TEST_CASE("nothing unvalidated reaches a dnsmasq file") {
  const auto base = sample_config("/etc/dnsmasq.d", "/var/lib/dashctl");

  SECTION("a button name with a comma, a newline or a '#'") {
    for (const std::string name : {"a,b", "a\nb", "a#b", "", "Upper"}) {
      auto c = base;
      c.buttons.push_back(button(name, "02:00:00:00:00:01", "10.77.0.210"));
      CHECK(code_of([&] { render(c, kListen, kHelper); }) == util::Exit::software);
    }
  }
  SECTION("an intercepted hostname that is not a host name") {
    for (const std::string host : {"evil.example\naddress=/#/1.2.3.4", "a b", "x#y", "a,b", ""}) {
      auto c = base;
      c.intercept.hostnames.push_back(host);
      CHECK(code_of([&] { render(c, kListen, kHelper); }) == util::Exit::software);
    }
  }
  SECTION("a state_dir that dnsmasq's config syntax would misread is the user's to fix") {
    for (const std::string dir : {"/var/lib/dash ctl", "/var/lib/a,b", "/var/lib/#x", "/x\ny"}) {
      auto c = base;
      c.dnsmasq.state_dir = dir;
      CHECK(code_of([&] { render(c, kListen, kHelper); }) == util::Exit::data);
    }
  }
  SECTION("a state_dir that is the conf_dir, where dnsmasq would read the hosts files as config") {
    auto c = base;
    c.dnsmasq.state_dir = "/etc/dnsmasq.d/./";
    CHECK(code_of([&] { render(c, kListen, kHelper); }) == util::Exit::data);
  }
  SECTION("a blank or a control character in the dhcp-script's paths is the user's to fix") {
    for (const std::string path : {"/run/a\nb.sock", "/run/a\rb.sock", "/run/a\x7f.sock", "/run/a\tb", "/run/a b"}) {
      auto c = base;
      c.daemon.event_socket = path;
      CHECK(code_of([&] { render(c, kListen, kHelper); }) == util::Exit::data);
      c.daemon.event_socket = "/run/dashctl/events.sock";
      CHECK(code_of([&] { render(c, kListen, path); }) == util::Exit::data);
    }
  }
  SECTION("a \"#!\" line longer than the kernel reads is the user's to fix") {
    auto c = base;
    c.daemon.event_socket = "/" + std::string(256 - 3 - kHelper.size() - 2, 's');
    CHECK(render(c, kListen, kHelper).dhcp_script.content.find('\n') == 255);
    c.daemon.event_socket += "s";
    CHECK(code_of([&] { render(c, kListen, kHelper); }) == util::Exit::data);
  }
  SECTION("a dhcp-script without an absolute helper or a socket is a bug") {
    auto c = base;
    CHECK(code_of([&] { render(c, kListen, "dashctl"); }) == util::Exit::software);
    CHECK(code_of([&] { render(c, kListen, ""); }) == util::Exit::software);
    c.daemon.event_socket.clear();
    CHECK(code_of([&] { render(c, kListen, kHelper); }) == util::Exit::software);
  }
}
