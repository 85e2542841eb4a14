// SPDX-License-Identifier: GPL-2.0-or-later
// dashctl button list|show|add|remove|rename|test|battery: managing buttons by hand.

#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli.h"
#include "config/load.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/protocol.h"
#include "plumbing/button.h"
#include "util/duration.h"
#include "util/error.h"
#include "util/net.h"
#include "util/text.h"

namespace dashctl::cmd {
namespace {

using util::Error;
using util::Exit;

struct AddOptions {
  std::string name;
  std::string mac;
  std::string ip;
  PressOptions press;
};

nlohmann::json action_json(const config::Action& action) {
  nlohmann::json body;
  if (const auto* m = std::get_if<config::MqttAction>(&action)) {
    body = {{"topic", m->topic}, {"payload", m->payload}, {"retain", m->retain}};
    if (m->qos) body["qos"] = *m->qos;
  } else if (const auto* e = std::get_if<config::ExecAction>(&action)) {
    body = {{"argv", e->argv}, {"timeout_ms", e->timeout.count()}};
  } else if (const auto* w = std::get_if<config::WebhookAction>(&action)) {
    body = {{"url", w->url}, {"method", w->method}, {"body", w->body},
            {"timeout_ms", w->timeout.count()}, {"headers", nlohmann::json::object()}};
    for (const auto& [k, v] : w->headers) body["headers"][k] = v;
  }
  return {{config::action_kind(action), body}};
}

nlohmann::json button_json(const config::Button& b) {
  nlohmann::json j{{"name", b.name},
                   {"mac", b.mac ? nlohmann::json(b.mac->str()) : nlohmann::json()},
                   {"ip", b.ip ? nlohmann::json(b.ip->str()) : nlohmann::json()},
                   {"window_ms", b.window.count()},
                   {"on_press", nlohmann::json::array()},
                   {"file", b.where.file},
                   {"line", b.where.line},
                   {"own_file", b.own_file}};
  for (const auto& a : b.on_press) j["on_press"].push_back(action_json(a));
  return j;
}

/// One line per action, as a person would write it.
std::string action_text(const config::Action& action) {
  if (const auto* m = std::get_if<config::MqttAction>(&action))
    return "mqtt " + m->topic + " <- " + m->payload + (m->retain ? " (retained)" : "");
  if (const auto* e = std::get_if<config::ExecAction>(&action)) {
    std::string s = "exec";
    for (const auto& a : e->argv) s += " " + a;
    return s;
  }
  const auto& w = std::get<config::WebhookAction>(action);
  return "webhook " + w.method + " " + w.url;
}

const config::Button& find(const config::Config& c, const std::string& name) {
  if (const auto* b = c.find_button(name)) return *b;
  throw Error(Exit::data, "no button '" + name + "'" + util::did_you_mean(name, c.button_names()),
              "'dashctl button list' shows the buttons");
}

int run_list(const Globals& g, bool names) {
  const auto c = load_config(g);
  if (names) {  // for shell completion and scripts: one name a line, nothing else
    for (const auto& b : c.buttons) std::puts(b.name.c_str());
    return 0;
  }
  if (g.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& b : c.buttons) j.push_back(button_json(b));
    std::puts(j.dump(2).c_str());
    return 0;
  }
  if (c.buttons.empty()) {
    spdlog::warn("no buttons yet: add one with 'dashctl button add'");
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"NAME", "MAC", "IP", "WINDOW", "ACTIONS", "DEFINED IN"}};
  for (const auto& b : c.buttons) {
    std::string kinds;
    for (const auto& a : b.on_press) {
      if (!kinds.empty()) kinds += ',';
      kinds += config::action_kind(a);
    }
    rows.push_back({b.name, b.mac ? b.mac->str() : "-", b.ip ? b.ip->str() : "-",
                    util::format_duration(b.window), kinds.empty() ? "-" : kinds,
                    b.own_file ? b.where.file : b.where.str()});
  }
  print_table(g, rows);
  return 0;
}

/// The running daemon's history of a button, with the answer's JSON of it in `raw`; nullopt
/// when no daemon runs (it keeps the history). Throws util::Error when one answers badly.
std::optional<daemon::ButtonHistory> daemon_history(const config::Config& c, const std::string& name,
                                                    nlohmann::json* raw = nullptr) {
  const auto answer = daemon::ask(c.daemon.control_socket, "status");
  if (!answer) return std::nullopt;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(*answer);
  } catch (const nlohmann::json::exception&) {
    throw Error(Exit::unavailable, "the daemon's status answer is not JSON");
  }
  const auto status = daemon::read_status(j);
  for (size_t i = 0; i < status.buttons.size(); ++i) {
    if (status.buttons[i].name != name) continue;
    if (!status.buttons[i].history)
      throw Error(Exit::unavailable, "the running daemon keeps no history (an older dashctl): restart it");
    if (raw) *raw = j["buttons"][i]["history"];
    return status.buttons[i].history;
  }
  throw Error(Exit::unavailable, "the running daemon does not know button '" + name + "' yet",
              "it reloads its config on SIGHUP ('systemctl reload dashctl')");
}

/// "~87% (an estimate from the awake time since 2026-...: 7000 s awake a battery, warning at 25%)".
std::string battery_line(const daemon::ButtonHistory& h) {
  std::string out = battery_text(h) + " (an estimate from the awake time since " +
                    (h.battery_since ? *h.battery_since : std::string("the history began")) + ": " +
                    std::to_string(h.battery_capacity_s) + " s awake a battery, ";
  out += h.battery_warning ? "warning at " + std::to_string(h.battery_warning) + "%)" : "no warning)";
  return out;
}

int run_show(const Globals& g, const std::string& name) {
  const auto c = load_config(g);
  const auto& b = find(c, name);
  nlohmann::json raw;
  std::optional<daemon::ButtonHistory> history;
  std::string problem = "the daemon is not running (it keeps the history)";
  try {
    history = daemon_history(c, name, &raw);
  } catch (const Error& e) {
    problem = e.what();  // the config part stands on its own
  }
  if (g.json) {
    auto j = button_json(b);
    j["history"] = history ? raw : nlohmann::json();
    std::puts(j.dump(2).c_str());
    return 0;
  }
  std::printf("button %s\n", b.name.c_str());
  std::printf("  mac:     %s\n", b.mac ? b.mac->str().c_str() : "-");
  std::printf("  ip:      %s\n", b.ip ? b.ip->str().c_str() : "- (no static lease)");
  std::printf("  window:  %s\n", util::format_duration(b.window).c_str());
  std::printf("  file:    %s\n", b.own_file ? b.where.file.c_str() : b.where.str().c_str());
  if (b.on_press.empty()) std::printf("  on press: nothing yet\n");
  for (size_t i = 0; i < b.on_press.size(); ++i)
    std::printf("  %s %s\n", i == 0 ? "on press:" : "         ", action_text(b.on_press[i]).c_str());
  if (!history) {
    std::printf("  history: unknown: %s\n", problem.c_str());
    return 0;
  }
  std::printf("  presses: %llu in total%s\n", static_cast<unsigned long long>(history->presses),
              history->last_press ? (", the last " + *history->last_press).c_str() : "");
  std::printf("  seen:    %s\n", history->last_seen ? history->last_seen->c_str() : "never");
  std::printf("  awake:   %.1f s in all (estimated)\n", history->awake_s);
  std::printf("  battery: %s\n", battery_line(*history).c_str());
  return 0;
}

struct BatteryOptions {
  bool replaced = false;
  int level = 100;
};

int run_battery(const Globals& g, const std::string& name, const BatteryOptions& o, bool level_given) {
  if (level_given && !o.replaced) throw Error(Exit::usage, "button battery: --level goes with --replaced");
  const auto c = load_config(g);
  const auto& b = find(c, name);
  if (o.replaced) give_battery(c, b.name, o.level);
  nlohmann::json raw;
  const auto history = daemon_history(c, name, &raw);
  if (!history)
    throw Error(Exit::unavailable, "the daemon is not running (nothing answers on " + c.daemon.control_socket + ")",
                "'dashctl run' keeps the batteries");
  if (g.json) {
    std::puts(raw["battery"].dump(2).c_str());
    return 0;
  }
  if (o.replaced) std::printf("%s: a new battery at %d%%\n", b.name.c_str(), o.level);
  std::printf("%s: %s\n", b.name.c_str(), battery_line(*history).c_str());
  return 0;
}

/// Builds the button from flags. Each value is checked here so the message names the flag;
/// add_button then validates the whole result against the rest of the config.
config::Button button_from(const AddOptions& o) {
  config::Button b;
  b.name = o.name;
  if (!util::is_button_name(o.name))
    throw Error(Exit::usage, "button add: '" + o.name + "' is not a valid button name",
                util::button_name_rule());
  if (!o.mac.empty()) {
    b.mac = util::Mac::parse(o.mac);
    if (!b.mac) throw Error(Exit::usage, "button add: --mac: '" + o.mac + "' is not a MAC address");
  }
  if (!o.ip.empty()) {
    b.ip = util::Ipv4::parse(o.ip);
    if (!b.ip) throw Error(Exit::usage, "button add: --ip: '" + o.ip + "' is not an IPv4 address");
  }
  if (!b.mac && !b.ip)
    throw Error(Exit::usage, "button add: give --mac or --ip, or both: a button is recognised by them");
  apply_press_options("button add", o.press, b);
  return b;
}

/// What followed the write: the plumbing brought in step (or why not) and the daemon.
void print_followup(const Globals& g, const plumbing::ButtonChange& change, bool added) {
  using Setup = plumbing::ButtonChange::Setup;
  switch (change.setup) {
    case Setup::applied:
      std::printf("setup applied again: dnsmasq's leases and the firewall follow the change\n");
      if (g.verbose)
        for (const auto& line : change.lines) std::printf("  %s\n", line.c_str());
      break;
    case Setup::not_set_up:
      if (added) std::printf("note: the network is not set up: 'sudo dashctl setup' sets it up with this button\n");
      break;
    case Setup::no_privilege:
      std::printf("note: not root: dnsmasq's leases and the firewall are left as they are; if setup has run, "
                  "run 'sudo dashctl setup' to bring them in step\n");
      break;
    case Setup::bad_config:
      spdlog::warn("the configuration still has problems ({}): dnsmasq, the firewall and a running daemon are left "
                   "as they are; fix them, then run 'sudo dashctl setup'",
                   change.problem);
      break;
  }
  if (change.daemon_reloaded) std::printf("the running daemon reloaded its config\n");
}

int run_add(const Globals& g, const AddOptions& o) {
  const auto b = button_from(o);
  const auto change = plumbing::button_changed(existing_config_path(g), plumbing::AddButton{b}, "button add");
  std::printf("added button %s in %s\n", b.name.c_str(), change.file.c_str());
  print_followup(g, change, true);
  return 0;
}

}  // namespace

void setup_button(CLI::App& app, Globals& g, Action& action) {
  auto* button = app.add_subcommand("button", "List, show, add, remove, rename and test buttons; their batteries");
  button->require_subcommand(1);

  auto* list = button->add_subcommand("list", "List the buttons");
  auto names = std::make_shared<bool>(false);
  list->add_flag("--names", *names, "Only the names, one a line (for scripts and shell completion)");
  list->callback([&, names] { action = [&, names] { return run_list(g, *names); }; });

  auto name = std::make_shared<std::string>();
  auto* show = button->add_subcommand("show", "Show one button");
  show->add_option("name", *name, "The button")->required()->type_name("NAME");
  show->callback([&, name] { action = [&, name] { return run_show(g, *name); }; });

  auto battery_opts = std::make_shared<BatteryOptions>();
  auto* battery =
      button->add_subcommand("battery", "Show a button's battery estimate; --replaced after a new battery");
  battery->add_option("name", *name, "The button")->required()->type_name("NAME");
  battery->add_flag("--replaced", battery_opts->replaced, "A new battery is in: the estimate starts again");
  auto* level = battery->add_option("--level", battery_opts->level, "With --replaced: its level, if not full")
                    ->type_name("PERCENT")
                    ->check(CLI::Range(1, 100));
  battery->callback([&, name, battery_opts, level] {
    action = [&, name, battery_opts, level] { return run_battery(g, *name, *battery_opts, level->count() > 0); };
  });

  auto opts = std::make_shared<AddOptions>();
  auto* add = button->add_subcommand("add", "Add a button in its own file, buttons.d/NAME.toml");
  add->add_option("name", opts->name, "The new button's name: [a-z0-9][a-z0-9_-]{0,31}")
      ->required()
      ->type_name("NAME");
  add->add_option("--mac", opts->mac, "The button's MAC address")->type_name("MAC");
  add->add_option("--ip", opts->ip, "Its static address (a DHCP reservation)")->type_name("IP");
  add_press_options(add, opts->press);
  add->callback([&, opts] { action = [&, opts] { return run_add(g, *opts); }; });

  auto* remove = button->add_subcommand("remove", "Remove a button's own file");
  remove->add_option("name", *name, "The button")->required()->type_name("NAME");
  remove->callback([&, name] {
    action = [&, name] {
      const auto change =
          plumbing::button_changed(existing_config_path(g), plumbing::RemoveButton{*name}, "button remove");
      std::printf("removed button %s\n", name->c_str());
      print_followup(g, change, false);
      return 0;
    };
  });

  auto* test = button->add_subcommand("test", "Fire a button's actions now, without a press");
  test->add_option("name", *name, "The button")->required()->type_name("NAME");
  test->callback([&, name] {
    action = [&, name] {
      const auto c = load_config(g);
      find(c, *name);
      bool ok = true;
      for (const auto& line : daemon::test_button(c, *name, ok)) std::printf("%s\n", line.c_str());
      if (!ok) throw Error(Exit::unavailable, "button test: an action failed");
      return 0;
    };
  });

  auto to = std::make_shared<std::string>();
  auto* rename = button->add_subcommand("rename", "Rename a button and its file");
  rename->add_option("old", *name, "The button")->required()->type_name("OLD");
  rename->add_option("new", *to, "Its new name")->required()->type_name("NEW");
  rename->callback([&, name, to] {
    action = [&, name, to] {
      if (!util::is_button_name(*to))
        throw Error(Exit::usage, "button rename: '" + *to + "' is not a valid button name",
                    util::button_name_rule());
      const auto change =
          plumbing::button_changed(existing_config_path(g), plumbing::RenameButton{*name, *to}, "button rename");
      std::printf("renamed button %s to %s\n", name->c_str(), to->c_str());
      print_followup(g, change, false);
      return 0;
    };
  });
}

}  // namespace dashctl::cmd
