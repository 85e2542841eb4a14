// SPDX-License-Identifier: GPL-2.0-or-later
// For test_man.py: what dashctl.toml(5) must document, from the parser itself.
//   print_keys             every key the parser takes, one dotted path a line
//   print_keys --defaults  "KEY<TAB>VALUE" for each default the parser fills in, as TOML
//                          writes the value, read from a parse of a config that sets only
//                          what is required

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/keys.h"
#include "config/parse.h"
#include "util/duration.h"

namespace {

using namespace dashctl;

// Not "quoted": with a std::string argument, argument-dependent lookup also finds std::quoted,
// which libstdc++ 14 (Debian 13) declares through <string>'s includes, and prefers it.
std::string toml_string(const std::string& s) { return "\"" + s + "\""; }
std::string boolean(bool b) { return b ? "true" : "false"; }
std::string duration(std::chrono::milliseconds d) { return toml_string(util::format_duration(d)); }

// Every optional part present, each with only its required keys.
constexpr const char* kMinimal = R"(
[network]
iot_interface = "br-iot"
[mqtt]
[daemon]
[[button]]
name = "b"
mac = "68:54:fd:12:34:56"
on_press = [
  { mqtt = { topic = "t" } },
  { exec = { argv = ["/bin/true"] } },
  { webhook = { url = "http://h" } },
]
)";

int print_defaults() {
  // The control socket's default follows systemd's RuntimeDirectory=; without it, the
  // path the page names.
  unsetenv("RUNTIME_DIRECTORY");
  config::Config c;
  std::vector<config::Diagnostic> problems;
  config::parse_main(kMinimal, "minimal.toml", c, problems);
  if (!problems.empty() || !c.mqtt || c.buttons.size() != 1 || c.buttons[0].on_press.size() != 3) {
    for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.str().c_str());
    std::fprintf(stderr, "print_keys: the minimal config did not parse as expected\n");
    return 1;
  }
  const auto& net = c.network;
  std::string ports;
  for (const auto p : net.intercept_ports) ports += (ports.empty() ? "" : ", ") + std::to_string(p);
  const auto& reload = c.dnsmasq.reload;
  const auto& m = *c.mqtt;
  const auto& b = c.buttons[0];
  const auto& mqtt = std::get<config::MqttAction>(b.on_press[0]);
  const auto& exec = std::get<config::ExecAction>(b.on_press[1]);
  const auto& hook = std::get<config::WebhookAction>(b.on_press[2]);
  const std::vector<std::pair<const char*, std::string>> defaults{
      {"network.listen_port", std::to_string(net.listen_port)},
      {"network.intercept_ports", "[" + ports + "]"},
      {"network.isolate", boolean(net.isolate)},
      {"network.force_dns", boolean(net.force_dns)},
      {"network.nflog_group", std::to_string(net.nflog_group)},
      {"dnsmasq.conf_dir", toml_string(c.dnsmasq.conf_dir)},
      {"dnsmasq.state_dir", toml_string(c.dnsmasq.state_dir)},
      {"dnsmasq.leases_file", toml_string(c.dnsmasq.leases_file)},
      {"dnsmasq.reload", reload.kind == config::Reload::Kind::pidfile
                             ? toml_string("pidfile:" + reload.pidfile)
                             : "(not a pid file)"},
      {"dnsmasq.dhcp_script", boolean(c.dnsmasq.dhcp_script)},
      {"mqtt.url", toml_string(m.url)},
      {"mqtt.topic_prefix", toml_string(m.topic_prefix)},
      {"mqtt.qos", std::to_string(m.qos)},
      {"mqtt.queue_limit", std::to_string(m.queue_limit)},
      {"mqtt.homeassistant", boolean(m.homeassistant)},
      {"mqtt.discovery_prefix", toml_string(m.discovery_prefix)},
      {"daemon.control_socket", toml_string(c.daemon.control_socket)},
      {"daemon.max_connections", std::to_string(c.daemon.max_connections)},
      {"daemon.connection_timeout", duration(c.daemon.connection_timeout)},
      {"daemon.shutdown_grace", duration(c.daemon.shutdown_grace)},
      {"button.window", duration(b.window)},
      {"button.on_press.mqtt.payload", toml_string(mqtt.payload)},
      {"button.on_press.mqtt.retain", boolean(mqtt.retain)},
      {"button.on_press.exec.timeout", duration(exec.timeout)},
      {"button.on_press.webhook.method", toml_string(hook.method)},
      {"button.on_press.webhook.body", toml_string(hook.body)},
      {"button.on_press.webhook.timeout", duration(hook.timeout)},
  };
  for (const auto& [key, value] : defaults) std::printf("%s\t%s\n", key, value.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--defaults") return print_defaults();
  if (argc != 1) {
    std::fprintf(stderr, "usage: print_keys [--defaults]\n");
    return 2;
  }
  for (const auto& key : config::known_keys()) std::printf("%s\n", key.c_str());
  return 0;
}
