// SPDX-License-Identifier: GPL-2.0-or-later
// dashctl setup and teardown: the network plumbing, applied and removed.

#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include "cli.h"
#include "config/load.h"
#include "config/store.h"
#include "nft/ruleset.h"
#include "plumbing/plumbing.h"
#include "util/error.h"

namespace dashctl::cmd {
namespace {

using util::Error;
using util::Exit;

struct SetupOptions {
  bool dry_run = false;
  config::Starter starter;
};

/// Runs a verb's work, prefixing its errors with the verb ("setup: ...") and adding the
/// privilege hint where the kernel or a file said no.
template <typename F>
int as_verb(const char* verb, F&& work) {
  try {
    return work();
  } catch (const config::ConfigError&) {
    throw;
  } catch (const Error& e) {
    std::string hint = e.hint();
    if (hint.empty() && e.code() == Exit::no_perm)
      hint = std::string("'dashctl ") + verb + "' changes the firewall and dnsmasq: run it as root (sudo)";
    throw Error(e.code(), std::string(verb) + ": " + e.what(), hint);
  }
}

bool has_starter_flags(const config::Starter& s) {
  return !s.iot_interface.empty() || !s.listen_address.empty() || !s.subnet.empty() || !s.lease_range.empty() ||
         !s.mqtt_url.empty() || !s.conf_dir.empty() || !s.state_dir.empty() || !s.reload.empty() || s.listen_port;
}

/// Every line of `text` as an nft comment, so that the dry run's whole output stays a
/// script `nft -f` accepts.
void print_commented(const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    const auto line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::printf("#%s%s\n", line.empty() ? "" : " ", line.c_str());
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

int run_setup(const Globals& g, const SetupOptions& o) {
  const std::string path = g.config_path();
  struct stat st {};
  if (has_starter_flags(o.starter)) {
    if (::stat(path.c_str(), &st) == 0)
      throw Error(Exit::usage, "--iot-interface and the other first-time flags write a new config, and " + path +
                                   " exists already", "edit it instead, then run 'dashctl setup'");
    if (o.starter.iot_interface.empty())
      throw Error(Exit::usage, "a first setup needs --iot-interface (the interface the buttons are on)");
    if (o.dry_run) throw Error(Exit::usage, "--dry-run cannot write a starter config; leave it out");
    config::write_starter(path, o.starter);
    std::printf("config: wrote %s\n", path.c_str());
  }
  const auto c = load_config(g);
  const auto effective = plumbing::resolve(c);
  const auto plan = plumbing::plan_setup(c, effective);
  if (o.dry_run) {
    std::printf("# dashctl setup --dry-run: what setup would install; nothing was changed.\n"
                "# The ruleset replaces table inet dashctl in one transaction ('nft -c -f -' checks it).\n");
    std::fputs(nft::to_text(plan.ruleset).c_str(), stdout);
    std::printf("\n");
    bool any = false;
    for (const auto& f : plan.files.files) {
      if (f.change == dnsmasq::Change::unchanged) continue;
      print_commented(dnsmasq::diff(f));
      any = true;
    }
    if (!any) std::printf("# dnsmasq: its files are up to date\n");
    return 0;
  }
  const auto report = plumbing::apply_setup(c, plan);
  if (!report.changed) {
    std::printf("already up to date\n");
    return 0;
  }
  for (const auto& line : report.lines) std::printf("%s\n", line.c_str());
  return 0;
}

int run_teardown(const Globals& g) {
  const auto c = load_config(g);
  const auto report = plumbing::teardown(c);
  if (!report.changed) {
    std::printf("nothing to remove\n");
    return 0;
  }
  for (const auto& line : report.lines) std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace

void setup_setup(CLI::App& app, Globals& g, Action& action) {
  auto o = std::make_shared<SetupOptions>();
  auto* sub = app.add_subcommand("setup", "Install the firewall table and dnsmasq's files (needs root)");
  sub->add_flag("--dry-run", o->dry_run, "Print the ruleset and the file changes; change nothing");
  auto& s = o->starter;
  const char* first = "First setup (writes a starter config)";
  sub->add_option("--iot-interface", s.iot_interface, "The interface the buttons are on")->type_name("IFACE")->group(first);
  sub->add_option("--listen", s.listen_address, "This host's address on it (default: its first)")->type_name("ADDR")->group(first);
  sub->add_option("--subnet", s.subnet, "The IoT network (default: the interface's)")->type_name("NET/LEN")->group(first);
  sub->add_option("--listen-port", s.listen_port, "The listener's port (default 1443)")->type_name("PORT")->group(first);
  sub->add_option("--lease-range", s.lease_range, "Static leases for learned buttons")->type_name("FIRST-LAST")->group(first);
  sub->add_option("--mqtt", s.mqtt_url, "The MQTT broker")->type_name("URL")->group(first);
  sub->add_option("--conf-dir", s.conf_dir, "dnsmasq's conf-dir (default /etc/dnsmasq.d)")->type_name("DIR")->group(first);
  sub->add_option("--state-dir", s.state_dir, "Where dashctl keeps dnsmasq's hosts files")->type_name("DIR")->group(first);
  sub->add_option("--reload", s.reload, "How to reload dnsmasq (pidfile:PATH, systemctl[:UNIT])")->type_name("HOW")->group(first);
  sub->callback([&, o] { action = [&, o] { return as_verb("setup", [&] { return run_setup(g, *o); }); }; });

  auto* down = app.add_subcommand("teardown", "Remove what setup installed; keep the config (needs root)");
  down->callback([&] { action = [&] { return as_verb("teardown", [&] { return run_teardown(g); }); }; });
}

}  // namespace dashctl::cmd
