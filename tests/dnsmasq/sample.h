// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A config with buttons in every state a static lease cares about, for the dnsmasq tests.

#include <string>

#include "config/model.h"

namespace dashctl::test {

inline config::Button button(const std::string& name, const char* mac, const char* ip) {
  config::Button b;
  b.name = name;
  if (mac) b.mac = util::Mac::parse(mac);
  if (ip) b.ip = util::Ipv4::parse(ip);
  return b;
}

/// dnsmasq files under `conf_dir` and `state_dir` (the dhcp-script on, as by default); two
/// hostnames; five buttons, listed out of order: two with a MAC and an address, one with a
/// MAC only, one with an address only, one with neither.
inline config::Config sample_config(const std::string& conf_dir, const std::string& state_dir) {
  config::Config c;
  c.dnsmasq.conf_dir = conf_dir;
  c.dnsmasq.state_dir = state_dir;
  c.daemon.event_socket = "/run/dashctl/events.sock";  // dnsmasq.dhcp_script is on by default
  c.intercept.hostnames = {"dash-button-na-aws-opf.amazon.com", "parker-gateway-na.amazon.com"};
  c.buttons = {
      button("kitchen", "AC:63:BE:00:00:02", "10.77.0.202"),
      button("bedroom", "68:54:fd:12:34:56", "10.77.0.201"),
      button("hall", "50:f5:da:00:00:03", nullptr),
      button("porch", nullptr, "10.77.0.204"),
      button("attic", nullptr, nullptr),
  };
  return c;
}

inline const util::Ipv4 kListen = *util::Ipv4::parse("10.77.0.1");

/// The program the dhcp-script's "#!" line names, for tests that compare its text.
inline const std::string kHelper = "/usr/libexec/dashctl/dhcp-script";

}  // namespace dashctl::test
