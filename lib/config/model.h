// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The typed configuration: what /etc/dashctl/dashctl.toml and buttons.d/*.toml say,
// with every default filled in and every value validated (see parse.h).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "util/net.h"

namespace dashctl::config {

using namespace std::chrono_literals;

/// Where something was written: for messages in the form file:line:col.
struct Origin {
  std::string file;
  int line = 0;
  int column = 0;
  std::string str() const;  ///< "file:line:col"
};

/// One problem found in the config.
struct Diagnostic {
  Origin where;
  std::string message;
  std::string str() const;  ///< "file:line:col: message"
};

struct MqttAction {
  std::string topic;              ///< template
  std::string payload = "press";  ///< template
  std::optional<int> qos;         ///< default: [mqtt] qos
  bool retain = false;
};

struct ExecAction {
  std::vector<std::string> argv;  ///< argv[0] is an absolute path; every element a template
  std::chrono::milliseconds timeout = 30s;
};

struct WebhookAction {
  std::string url;  ///< template; http:// or https://
  std::string method = "POST";
  std::vector<std::pair<std::string, std::string>> headers;  ///< values are templates
  std::string body;                                           ///< template
  std::chrono::milliseconds timeout = 5s;
};

using Action = std::variant<MqttAction, ExecAction, WebhookAction>;

/// "mqtt", "exec" or "webhook".
const char* action_kind(const Action& a);

struct Button {
  std::string name;
  std::optional<util::Mac> mac;
  std::optional<util::Ipv4> ip;  ///< static DHCP lease
  std::chrono::milliseconds window = 10s;
  std::vector<Action> on_press;
  /// What one battery lasts, in seconds the button is awake (the battery estimate).
  std::chrono::seconds battery_capacity{7000};
  /// The battery estimate's warning level, percent; 0: never warn.
  unsigned battery_warning = 25;

  Origin where;           ///< the button's definition
  Origin mac_where;       ///< its mac key, for "already used" messages
  Origin ip_where;        ///< its ip key
  bool own_file = false;  ///< true: buttons.d/<name>.toml, which dashctl may rewrite
};

/// An exception to isolation: buttons may reach this address (and port).
struct ForwardAllow {
  util::Ipv4Prefix to;  ///< a single host is a /32
  enum class Proto { any, tcp, udp } proto = Proto::any;
  std::optional<uint16_t> port;  ///< only with tcp or udp
};

struct Network {
  std::string iot_interface;
  std::optional<util::Ipv4> listen_address;  ///< default: the interface's first IPv4
  std::optional<util::Ipv4Prefix> subnet;    ///< default: the interface's network
  uint16_t listen_port = 1443;
  std::vector<uint16_t> intercept_ports{443};
  std::optional<util::Ipv4Range> lease_range;
  bool isolate = true;
  bool force_dns = true;
  std::vector<ForwardAllow> forward_allow;
  /// The NFLOG group the table logs the buttons' own DHCP requests and DNS queries to, for
  /// `dashctl run` with CAP_NET_ADMIN. `dashctl learn` uses the next group.
  uint16_t nflog_group = 2716;
  /// The listener completes a TLS handshake with known buttons (button life).
  bool tls = true;
  /// setup redirects the IoT network's NTP (UDP 123) to ntp_port, where the daemon answers.
  bool ntp = true;
  uint16_t ntp_port = 1123;
};

struct Intercept {
  std::vector<std::string> hostnames;  ///< default: default_hostnames()
};

/// How dashctl tells dnsmasq to re-read its files.
struct Reload {
  enum class Kind { pidfile, systemctl, command } kind = Kind::pidfile;
  std::string pidfile = "/run/dnsmasq/dnsmasq.pid";
  std::string unit = "dnsmasq";
  std::vector<std::string> command;  ///< argv, never a shell
};

struct Dnsmasq {
  std::string conf_dir = "/etc/dnsmasq.d";
  std::string state_dir = "/var/lib/dashctl";
  std::string leases_file = "/var/lib/misc/dnsmasq.leases";  ///< dnsmasq's lease database
  Reload reload;
  /// The drop-in sets dnsmasq's dhcp-script to <state_dir>/dhcp-script, which hands lease
  /// events to `dashctl run`. Off where the system owns the script (OpenWrt's hotplug).
  bool dhcp_script = true;
};

struct Mqtt {
  std::string url = "mqtt://localhost:1883";
  std::string host = "localhost";  ///< from url
  uint16_t port = 1883;            ///< from url
  bool tls = false;                ///< mqtts://
  std::string topic_prefix = "dashctl";
  std::string client_id;  ///< default: dashctl-<hostname>
  std::string username;
  std::string password;
  int qos = 1;
  size_t queue_limit = 1000;  ///< messages held while the broker is away
  bool homeassistant = true;
  std::string discovery_prefix = "homeassistant";
};

/// `dashctl run`.
struct Daemon {
  std::string control_socket;  ///< default: $RUNTIME_DIRECTORY/control.sock, else /run/dashctl/control.sock
  std::string event_socket;    ///< datagrams from `dashctl dhcp-event`; default: events.sock beside control_socket
  size_t max_connections = 256;                        ///< concurrent connections to the listener
  std::chrono::milliseconds connection_timeout = 2s;   ///< a connection's deadline
  std::chrono::milliseconds shutdown_grace = 5s;       ///< for running actions on SIGTERM
  /// The daemon's own files (its TLS key and certificate); default: default_daemon_state_dir().
  std::string state_dir;
  size_t max_handshakes = 16;         ///< TLS handshakes with buttons at once
  unsigned handshakes_per_address = 6;  ///< per address within 10 s
};

/// The control socket's default: systemd's RuntimeDirectory= when set, else /run/dashctl.
std::string default_control_socket();
/// The event socket's default: events.sock in the control socket's directory.
std::string default_event_socket(const std::string& control_socket);

/// mqtt.client_id's default: "dashctl-<hostname>-<8 hex digits of the config's path>", so
/// that two daemons, on two hosts or with two configs, never take each other's session.
std::string default_client_id(const std::string& config_path);

/// The daemon's state directory's default: systemd's StateDirectory= ($STATE_DIRECTORY),
/// else $XDG_STATE_HOME/dashctl, else $HOME/.local/state/dashctl, else /var/lib/dashctl-daemon.
std::string default_daemon_state_dir();

struct Config {
  std::string path;         ///< the main file
  std::string buttons_dir;  ///< <dir of path>/buttons.d
  Network network;
  Intercept intercept;
  Dnsmasq dnsmasq;
  std::optional<Mqtt> mqtt;  ///< absent: no [mqtt] section, no MQTT
  Daemon daemon;
  std::vector<Button> buttons;

  const Button* find_button(std::string_view name) const;
  /// The button with this MAC address, or nullptr.
  const Button* find_button(const util::Mac& mac) const;
  std::vector<std::string> button_names() const;
};

/// The Dash buttons' cloud and time hosts (FACTS.md), the default intercept list.
const std::vector<std::string>& default_hostnames();

}  // namespace dashctl::config
