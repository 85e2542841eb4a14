// SPDX-License-Identifier: GPL-2.0-or-later
#include "config/keys.h"

namespace dashctl::config {
namespace keys {

// The order is the parser's: "did you mean" prefers the earlier of two equally close keys.
const std::vector<std::string> root{"network", "intercept", "dnsmasq", "mqtt", "daemon", "button"};
const std::vector<std::string> network{"iot_interface", "listen_address", "subnet",
                                       "listen_port",   "intercept_ports", "lease_range",
                                       "isolate",       "force_dns",      "forward_allow",
                                       "nflog_group",   "tls",            "ntp",
                                       "ntp_port"};
const std::vector<std::string> forward_allow{"to", "proto", "port"};
const std::vector<std::string> intercept{"hostnames"};
const std::vector<std::string> dnsmasq{"conf_dir", "state_dir", "leases_file", "reload",
                                       "dhcp_script"};
const std::vector<std::string> mqtt{"url",         "topic_prefix",  "client_id",
                                    "username",    "password",      "qos",
                                    "queue_limit", "homeassistant", "discovery_prefix"};
const std::vector<std::string> daemon{"control_socket", "event_socket", "max_connections",
                                      "connection_timeout", "shutdown_grace", "state_dir",
                                      "max_handshakes", "handshakes_per_address"};
const std::vector<std::string> button{"mac", "ip", "window", "on_press", "battery_capacity", "battery_warning"};
const std::vector<std::string> inline_button = [] {
  auto k = button;  // defined above, so initialised first
  k.push_back("name");
  return k;
}();
const std::vector<std::string> action{"mqtt", "exec", "webhook"};
const std::vector<std::string> mqtt_action{"topic", "payload", "qos", "retain"};
const std::vector<std::string> exec_action{"argv", "timeout"};
const std::vector<std::string> webhook_action{"url", "method", "headers", "body", "timeout"};

}  // namespace keys

std::vector<std::string> known_keys() {
  std::vector<std::string> out;
  auto add = [&](const std::string& prefix, const std::vector<std::string>& names) {
    for (const auto& k : names) out.push_back(prefix + k);
  };
  add("", keys::root);
  add("network.", keys::network);
  add("network.forward_allow.", keys::forward_allow);
  add("intercept.", keys::intercept);
  add("dnsmasq.", keys::dnsmasq);
  add("mqtt.", keys::mqtt);
  add("daemon.", keys::daemon);
  add("button.", keys::inline_button);
  add("button.on_press.", keys::action);
  add("button.on_press.mqtt.", keys::mqtt_action);
  add("button.on_press.exec.", keys::exec_action);
  add("button.on_press.webhook.", keys::webhook_action);
  return out;
}

}  // namespace dashctl::config
