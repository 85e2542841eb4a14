// SPDX-License-Identifier: GPL-2.0-or-later
// dashctl dhcp-event: dnsmasq's dhcp-script. Hands a lease event to `dashctl run` as one
// datagram and returns at once: dnsmasq runs its script serially and waits for it, and
// nothing it could do about a missing daemon or config, so everything except a wrong
// command line (or arguments no dnsmasq writes) ends in exit 0, never blocks, never retries.

#include <cstdlib>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli.h"
#include "daemon/event.h"
#include "util/error.h"

namespace dashctl::cmd {
namespace {

struct Options {
  std::string socket;              ///< --socket; empty: the config's daemon.event_socket
  std::vector<std::string> args;   ///< ACTION MAC IP [HOST]
};

int run_dhcp_event(const Globals& g, const Options& o) {
  const auto parsed = daemon::parse_dhcp_event(o.args, [](const char* name) { return std::getenv(name); });
  if (!parsed.event) {
    spdlog::info("dhcp-event: ignored: {}", parsed.ignored);
    return 0;
  }
  const auto& e = *parsed.event;
  std::string path = o.socket;
  if (path.empty()) {
    try {
      path = load_config(g).daemon.event_socket;
    } catch (const util::Error& err) {
      spdlog::warn("dhcp-event: cannot read the config ({}); event dropped", err.what());
      return 0;
    }
  }
  std::string why;
  const std::string what = e.action + " " + e.mac.str() + " " + e.ip.str();
  const auto sent = daemon::send_event(path, daemon::encode(e), &why);
  if (sent == daemon::Sent::sent)
    spdlog::info("dhcp-event: {}: sent to {}", what, path);
  else
    spdlog::warn("{}", daemon::dropped_message(sent, path, why));
  return 0;
}

}  // namespace

void setup_dhcp_event(CLI::App& app, Globals& g, Action& action) {
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand("dhcp-event", "Hand a dnsmasq lease event to the daemon (dnsmasq's dhcp-script)");
  sub->add_option("--socket", opts->socket, "The daemon's event socket (default: daemon.event_socket)")
      ->type_name("PATH");
  sub->add_option("event", opts->args, "ACTION MAC IP [HOST] as dnsmasq passes them (ACTION: add, old, del, ...)")
      ->type_name("ACTION MAC IP [HOST]");
  // From ACTION on every word is an argument, so that a host name or a hardware address
  // starting with '-' is never read as an option; '--' works too.
  sub->positionals_at_end();
  sub->footer("Only add and old events with DNSMASQ_SUPPLIED_HOSTNAME set (a button waking up) are sent;\n"
              "the others are ignored. Exits 0 whether or not a daemon listens.");
  sub->callback([&g, &action, opts] { action = [&g, opts] { return run_dhcp_event(g, *opts); }; });
}

}  // namespace dashctl::cmd
