// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The keys each table of the config takes. The parser accepts these and rejects any
// other, and dashctl.toml(5) documents every one (tests/man checks it against this list).

#include <string>
#include <vector>

namespace dashctl::config::keys {

extern const std::vector<std::string> root;           ///< [network], [mqtt], ... [[button]]
extern const std::vector<std::string> network;        ///< [network]
extern const std::vector<std::string> forward_allow;  ///< an element of network.forward_allow
extern const std::vector<std::string> intercept;      ///< [intercept]
extern const std::vector<std::string> dnsmasq;        ///< [dnsmasq]
extern const std::vector<std::string> mqtt;           ///< [mqtt]
extern const std::vector<std::string> daemon;         ///< [daemon]
extern const std::vector<std::string> button;         ///< a button file; [[button]] adds name
extern const std::vector<std::string> inline_button;  ///< [[button]] in the main file
extern const std::vector<std::string> action;         ///< an element of on_press: its kind
extern const std::vector<std::string> mqtt_action;
extern const std::vector<std::string> exec_action;  ///< the table form of exec
extern const std::vector<std::string> webhook_action;

}  // namespace dashctl::config::keys

namespace dashctl::config {

/// Every key of the main file as a dotted path, tables included: "network",
/// "network.listen_port", "network.forward_allow.to", "button.on_press.mqtt.topic".
std::vector<std::string> known_keys();

}  // namespace dashctl::config
