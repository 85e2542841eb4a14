// SPDX-License-Identifier: GPL-2.0-or-later
#include "config/store.h"

#include <sys/stat.h>

#include <cerrno>
#include <sstream>

#include <toml++/toml.h>

#include "config/load.h"
#include "config/parse.h"
#include "util/duration.h"
#include "util/fs.h"
#include "util/text.h"

namespace dashctl::config {
namespace {

using util::Error;
using util::Exit;

toml::table render_action(const Action& action) {
  toml::table body;
  std::string kind = action_kind(action);
  if (const auto* m = std::get_if<MqttAction>(&action)) {
    body.insert("topic", m->topic);
    body.insert("payload", m->payload);
    if (m->qos) body.insert("qos", *m->qos);
    if (m->retain) body.insert("retain", true);
  } else if (const auto* e = std::get_if<ExecAction>(&action)) {
    toml::array argv;
    for (const auto& a : e->argv) argv.push_back(a);
    if (e->timeout == ExecAction{}.timeout) {
      toml::table t;
      t.insert("exec", std::move(argv));
      t.is_inline(true);
      return t;
    }
    body.insert("argv", std::move(argv));
    body.insert("timeout", util::format_duration(e->timeout));
  } else if (const auto* w = std::get_if<WebhookAction>(&action)) {
    body.insert("url", w->url);
    body.insert("method", w->method);
    if (!w->headers.empty()) {
      toml::table h;
      for (const auto& [k, v] : w->headers) h.insert(k, v);
      h.is_inline(true);
      body.insert("headers", std::move(h));
    }
    if (!w->body.empty()) body.insert("body", w->body);
    if (w->timeout != WebhookAction{}.timeout) body.insert("timeout", util::format_duration(w->timeout));
  }
  body.is_inline(true);
  toml::table t;
  t.insert(kind, std::move(body));
  t.is_inline(true);
  return t;
}

/// Throws the first problem, in the form the CLI prints.
[[noreturn]] void refuse(std::vector<Diagnostic> problems) { throw ConfigError(std::move(problems)); }

/// One value in TOML syntax; toml++ does the quoting and escaping.
template <typename Node>
std::string toml_text(const Node& node) {
  // Basic "double-quoted" strings, as people write them and the manual shows them.
  constexpr auto flags = toml::toml_formatter::default_flags & ~toml::format_flags::allow_literal_strings &
                         ~toml::format_flags::allow_multi_line_strings;
  std::ostringstream out;
  out << toml::toml_formatter(node, flags);
  return out.str();
}

}  // namespace

std::string render_button_file(const Button& b) {
  // Keys in the order a person reads them and one action per line; toml++ alone would
  // sort the keys and put every action on one line.
  std::ostringstream out;
  out << "# A dashctl button, named after this file. dashctl writes only files like this\n"
      << "# one, never the main config; edit freely. The keys are in dashctl.toml(5).\n\n";
  if (b.mac) out << "mac = " << toml_text(toml::value<std::string>(b.mac->str())) << "\n";
  if (b.ip) out << "ip = " << toml_text(toml::value<std::string>(b.ip->str())) << "\n";
  out << "window = " << toml_text(toml::value<std::string>(util::format_duration(b.window))) << "\n";
  if (b.battery_capacity != Button{}.battery_capacity)
    out << "battery_capacity = "
        << toml_text(toml::value<std::string>(util::format_duration(std::chrono::milliseconds(b.battery_capacity))))
        << "\n";
  if (b.battery_warning != Button{}.battery_warning) out << "battery_warning = " << b.battery_warning << "\n";
  out << "on_press = [\n";
  for (const auto& a : b.on_press) out << "  " << toml_text(render_action(a)) << ",\n";
  out << "]\n";
  return out.str();
}

void write_starter(const std::string& path, const Starter& s) {
  auto quoted = [](const std::string& v) { return toml_text(toml::value<std::string>(v)); };
  std::ostringstream out;
  out << "# dashctl's config, written by 'dashctl setup'. Edit freely; dashctl never rewrites it\n"
      << "# (buttons it manages go to buttons.d/). Every key is described in dashctl.toml(5).\n\n"
      << "[network]\n"
      << "iot_interface = " << quoted(s.iot_interface) << "  # where the buttons are\n";
  if (!s.listen_address.empty()) out << "listen_address = " << quoted(s.listen_address) << "\n";
  else out << "# listen_address: the interface's first IPv4 address\n";
  if (!s.subnet.empty()) out << "subnet = " << quoted(s.subnet) << "\n";
  if (s.listen_port) out << "listen_port = " << s.listen_port << "\n";
  else out << "# listen_port = 1443\n";
  if (!s.lease_range.empty()) out << "lease_range = " << quoted(s.lease_range) << "  # static leases for buttons\n";
  out << "isolate = true    # buttons reach DHCP, DNS and the listener only\n"
      << "force_dns = true  # even buttons with a hard-coded resolver get this host's DNS\n";
  if (!s.conf_dir.empty() || !s.state_dir.empty() || !s.reload.empty()) {
    out << "\n[dnsmasq]\n";
    if (!s.conf_dir.empty()) out << "conf_dir = " << quoted(s.conf_dir) << "\n";
    if (!s.state_dir.empty()) out << "state_dir = " << quoted(s.state_dir) << "\n";
    if (!s.reload.empty()) out << "reload = " << quoted(s.reload) << "\n";
  }
  if (!s.mqtt_url.empty()) out << "\n[mqtt]\nurl = " << quoted(s.mqtt_url) << "\n";
  const std::string text = out.str();
  Config parsed;
  std::vector<Diagnostic> problems;
  parse_main(text, path, parsed, problems);
  if (!problems.empty()) throw Error(Exit::usage, "setup: " + problems.front().message);
  const std::string dir = util::dirname_of(path);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    util::throw_system("creating " + dir, errno, Exit::cant_create);
  util::write_file_atomic(path, text, 0644, util::Replace::forbid);
}

namespace {

/// The text of the new button's file, once it is known to fit the config. Call under the
/// config directory's lock.
std::string vet_button(const std::string& config_path, const Button& b, const std::string& verb) {
  const std::string file = button_file_for(config_path, b.name);
  if (!util::is_button_name(b.name))
    throw Error(Exit::data, verb + ": '" + b.name + "' is not a valid button name",
                util::button_name_rule());
  auto checked = check(config_path);
  if (!checked.problems.empty()) refuse(std::move(checked.problems));
  if (const auto* other = checked.config.find_button(b.name))
    throw Error(Exit::data, verb + ": button '" + b.name + "' already exists (" + other->where.str() + ")");
  // Validate what will be on disk by reading it back with the loader's own parser.
  std::string text = render_button_file(b);
  std::vector<Diagnostic> problems;
  if (auto parsed = parse_button_file(text, file, b.name, problems)) {
    checked.config.buttons.push_back(std::move(*parsed));
    validate(checked.config, problems);
  }
  // The new file does not exist yet, so its problems are told without a place.
  for (const auto& p : problems)
    if (p.where.file == file) throw Error(Exit::data, verb + ": " + p.message);
  if (!problems.empty()) refuse(std::move(problems));
  return text;
}

}  // namespace

void check_new_button(const std::string& config_path, const Button& b, const std::string& verb) {
  util::DirLock lock(util::dirname_of(config_path));
  vet_button(config_path, b, verb);
}

void add_button(const std::string& config_path, const Button& b, const std::string& verb) {
  const std::string dir = buttons_dir_for(config_path);
  util::DirLock lock(util::dirname_of(config_path));
  const std::string text = vet_button(config_path, b, verb);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    util::throw_system("creating " + dir, errno, Exit::cant_create);
  util::write_file_atomic(button_file_for(config_path, b.name), text, 0644, util::Replace::forbid);
}

void remove_button(const std::string& config_path, const std::string& name) {
  // The name becomes a path: "../dashctl" must never reach unlink(2).
  if (!util::is_button_name(name)) throw Error(Exit::data, "no button '" + name + "'");
  util::DirLock lock(util::dirname_of(config_path));
  // A broken config must not stop the removal of the button that breaks it, so the
  // problems are not a reason to refuse here.
  const auto checked = check(config_path);
  const auto* b = checked.config.find_button(name);
  if (b && !b->own_file)
    throw Error(Exit::data, "button '" + name + "' is written in " + b->where.str() +
                                ", not in its own file; remove it there");
  if (util::remove_file(button_file_for(config_path, name))) return;
  throw Error(Exit::data, "no button '" + name + "'" +
                              util::did_you_mean(name, checked.config.button_names()));
}

void rename_button(const std::string& config_path, const std::string& from, const std::string& to) {
  if (!util::is_button_name(to))
    throw Error(Exit::data, "'" + to + "' is not a valid button name",
                util::button_name_rule());
  util::DirLock lock(util::dirname_of(config_path));
  const auto checked = check(config_path);
  const auto* b = checked.config.find_button(from);
  if (!b)
    throw Error(Exit::data, "no button '" + from + "'" +
                                util::did_you_mean(from, checked.config.button_names()));
  if (!b->own_file)
    throw Error(Exit::data, "button '" + from + "' is written in " + b->where.str() +
                                ", not in its own file; rename it there");
  if (const auto* other = checked.config.find_button(to))
    throw Error(Exit::data, "button '" + to + "' already exists (" + other->where.str() + ")");
  util::rename_no_replace(button_file_for(config_path, from), button_file_for(config_path, to));
}

}  // namespace dashctl::config
