// SPDX-License-Identifier: GPL-2.0-or-later
#include "config/parse.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <toml++/toml.h>

#include "config/keys.h"
#include "util/duration.h"
#include "util/template.h"
#include "util/text.h"

namespace dashctl::config {
namespace {

using util::did_you_mean;

/// Where a parse is, and where its problems go.
struct Ctx {
  const std::string& file;
  std::vector<Diagnostic>& problems;

  Origin at(const toml::source_region& r) const {
    // Implicit tables (a [network] that only exists through dotted keys, the root) have
    // no position; point at the top of the file rather than at line 0.
    const int line = r.begin.line ? static_cast<int>(r.begin.line) : 1;
    const int col = r.begin.line ? static_cast<int>(r.begin.column) : 1;
    return {file, line, col};
  }
  void error(const toml::source_region& r, std::string message) {
    problems.push_back({at(r), std::move(message)});
  }
  void error(const toml::node& n, std::string message) { error(n.source(), std::move(message)); }
};

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a decimal number";
    case toml::node_type::boolean: return "true or false";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date or time";
  }
}

bool has_control_chars(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

/// The keys of one table: each is taken at most once, and what is left over at the end
/// is an unknown key, reported with a suggestion.
class Fields {
 public:
  Fields(Ctx& ctx, const toml::table& table, std::string section,
         std::vector<std::string> known)
      : ctx_(ctx), table_(table), section_(std::move(section)), known_(std::move(known)) {}

  /// "network.listen_port", for messages.
  std::string name(std::string_view key) const {
    return section_.empty() ? std::string(key) : section_ + "." + std::string(key);
  }

  const toml::node* take(std::string_view key) {
    used_.insert(std::string(key));
    return table_.get(key);
  }

  /// The node of `key` if it has the wanted type; a type problem otherwise.
  template <typename T>
  const toml::value<T>* value(std::string_view key, const char* wanted) {
    const auto* n = take(key);
    if (!n) return nullptr;
    if (const auto* v = n->as<T>()) return v;
    ctx_.error(*n, name(key) + " must be " + wanted + ", not " + type_name(*n));
    return nullptr;
  }
  const toml::value<std::string>* string(std::string_view key) {
    return value<std::string>(key, "a string");
  }
  const toml::value<int64_t>* integer(std::string_view key) {
    return value<int64_t>(key, "an integer");
  }
  const toml::value<bool>* boolean(std::string_view key) {
    return value<bool>(key, "true or false");
  }
  const toml::array* array(std::string_view key) {
    const auto* n = take(key);
    if (!n) return nullptr;
    if (const auto* a = n->as_array()) return a;
    ctx_.error(*n, name(key) + " must be an array, not " + type_name(*n));
    return nullptr;
  }
  const toml::table* table(std::string_view key) {
    const auto* n = take(key);
    if (!n) return nullptr;
    if (const auto* t = n->as_table()) return t;
    ctx_.error(*n, name(key) + " must be a table, not " + type_name(*n));
    return nullptr;
  }

  /// A required key that is missing: reported at the table.
  void missing(std::string_view key, const std::string& hint = {}) {
    ctx_.error(table_.source(), "missing " + name(key) + hint);
  }

  void reject_unknown() {
    for (auto&& [key, node] : table_) {
      const std::string k(key.str());
      if (used_.count(k)) continue;
      std::string where = section_.empty() ? "" : " in [" + section_ + "]";
      ctx_.error(key.source(), "unknown key '" + k + "'" + where + did_you_mean(k, known_));
    }
  }

 private:
  Ctx& ctx_;
  const toml::table& table_;
  std::string section_;
  std::vector<std::string> known_;
  std::set<std::string> used_;
};

std::optional<uint16_t> port_value(Ctx& ctx, const toml::node& n, const std::string& name) {
  const auto* v = n.as_integer();
  if (!v) {
    std::string fix;
    // 1443.0: TOML reads a decimal point as a float, even with nothing after it.
    const auto* f = n.as_floating_point();
    if (f && f->get() >= 1 && f->get() <= 65535 && f->get() == std::floor(f->get()))
      fix = " (write " + std::to_string(static_cast<int>(f->get())) + ")";
    ctx.error(n, name + " must be a port: an integer from 1 to 65535, not " + type_name(n) + fix);
    return std::nullopt;
  }
  if (v->get() < 1 || v->get() > 65535) {
    ctx.error(n, name + " must be a port from 1 to 65535, not " + std::to_string(v->get()));
    return std::nullopt;
  }
  return static_cast<uint16_t>(v->get());
}

/// A port the daemon binds without root: 1024 or above.
std::optional<uint16_t> unprivileged_port(Ctx& ctx, const toml::node& n, const std::string& name, const char* who) {
  auto p = port_value(ctx, n, name);
  if (p && *p < 1024) {
    ctx.error(n, name + " must be 1024 or above: " + who + " binds it without root");
    return std::nullopt;
  }
  return p;
}

std::optional<std::chrono::milliseconds> duration_value(Ctx& ctx, const toml::value<std::string>& v,
                                                        const std::string& name,
                                                        std::chrono::milliseconds min,
                                                        std::chrono::milliseconds max) {
  auto why = util::DurationProblem::malformed;
  const auto d = util::parse_duration(v.get(), &why);
  if (!d && why == util::DurationProblem::malformed) {
    ctx.error(v, name + ": '" + v.get() + "' is not a duration (like \"500ms\", \"10s\", \"2m\")");
    return std::nullopt;
  }
  if (!d) {
    ctx.error(v, name + ": '" + v.get() + "' is out of range: it must be between " + util::format_duration(min) +
                     " and " + util::format_duration(max));
    return std::nullopt;
  }
  if (*d < min || *d > max) {
    ctx.error(v, name + " must be between " + util::format_duration(min) + " and " +
                     util::format_duration(max));
    return std::nullopt;
  }
  return d;
}

bool check_template(Ctx& ctx, const toml::value<std::string>& v, const std::string& name) {
  if (const auto problem = util::template_problem(v.get())) {
    ctx.error(v, name + ": " + *problem);
    return false;
  }
  return true;
}

std::optional<std::string> absolute_path(Ctx& ctx, const toml::value<std::string>& v,
                                         const std::string& name) {
  std::string s = v.get();
  if (s.empty() || s.front() != '/' || has_control_chars(s)) {
    ctx.error(v, name + " must be an absolute path");
    return std::nullopt;
  }
  // "/etc/dnsmasq.d/" and "/etc/dnsmasq.d" are one directory: compare and join them alike.
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

/// Why `topic` cannot be published to, or "". Topics are templates, so their braces are
/// checked separately.
std::string topic_problem(std::string_view topic) {
  if (topic.empty()) return "a topic cannot be empty";
  if (topic.find_first_of("+#") != std::string_view::npos)
    return "'+' and '#' are subscription wildcards and cannot be published to";
  if (has_control_chars(topic)) return "a topic cannot contain control characters";
  if (topic.size() > 1024) return "a topic is at most 1024 characters";
  return {};
}

// ---- actions -----------------------------------------------------------------------------

std::optional<MqttAction> parse_mqtt_action(Ctx& ctx, const toml::table& t, const std::string& sec) {
  Fields f(ctx, t, sec, keys::mqtt_action);
  MqttAction a;
  bool ok = true;
  if (const auto* v = f.string("topic")) {
    if (const auto p = topic_problem(v->get()); !p.empty()) {
      ctx.error(*v, f.name("topic") + ": " + p);
      ok = false;
    }
    ok = check_template(ctx, *v, f.name("topic")) && ok;
    a.topic = v->get();
  } else {
    f.missing("topic");
    ok = false;
  }
  if (const auto* v = f.string("payload")) {
    ok = check_template(ctx, *v, f.name("payload")) && ok;
    a.payload = v->get();
  }
  if (const auto* v = f.integer("qos")) {
    if (v->get() < 0 || v->get() > 2) {
      ctx.error(*v, f.name("qos") + " must be 0, 1 or 2");
      ok = false;
    }
    a.qos = static_cast<int>(v->get());
  }
  if (const auto* v = f.boolean("retain")) a.retain = v->get();
  f.reject_unknown();
  return ok ? std::optional(a) : std::nullopt;
}

bool parse_argv(Ctx& ctx, const toml::array& arr, const std::string& name,
                std::vector<std::string>& argv) {
  if (arr.empty()) {
    ctx.error(arr, name + " needs at least the program to run");
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < arr.size(); ++i) {
    const auto* s = arr[i].as_string();
    if (!s) {
      ctx.error(arr[i], name + "[" + std::to_string(i) + "] must be a string, not " +
                            type_name(arr[i]));
      ok = false;
      continue;
    }
    if (i == 0) {
      // The program itself is never a template and never looked up in $PATH: what runs
      // is exactly what the config names.
      if (s->get().empty() || s->get().front() != '/' || has_control_chars(s->get())) {
        ctx.error(*s, name + ": the program must be an absolute path, not '" + s->get() + "'");
        ok = false;
      } else if (s->get().find('{') != std::string::npos) {
        ctx.error(*s, name + ": the program cannot contain placeholders");
        ok = false;
      }
    } else {
      ok = check_template(ctx, *s, name + "[" + std::to_string(i) + "]") && ok;
    }
    if (s->get().find('\0') != std::string::npos) {
      ctx.error(*s, name + ": arguments cannot contain NUL characters");
      ok = false;
    }
    argv.push_back(s->get());
  }
  return ok;
}

std::optional<ExecAction> parse_exec_action(Ctx& ctx, const toml::node& n, const std::string& sec) {
  ExecAction a;
  if (const auto* arr = n.as_array()) {
    if (!parse_argv(ctx, *arr, sec, a.argv)) return std::nullopt;
    return a;
  }
  const auto* t = n.as_table();
  if (!t) {
    ctx.error(n, sec + " must be an array (the program and its arguments) or a table "
                       "{ argv = [...], timeout = \"30s\" }, not " + type_name(n));
    return std::nullopt;
  }
  Fields f(ctx, *t, sec, keys::exec_action);
  bool ok = true;
  if (const auto* arr = f.array("argv")) {
    ok = parse_argv(ctx, *arr, f.name("argv"), a.argv);
  } else {
    f.missing("argv");
    ok = false;
  }
  if (const auto* v = f.string("timeout")) {
    const auto d = duration_value(ctx, *v, f.name("timeout"), 100ms, 1h);
    ok = d.has_value() && ok;
    if (d) a.timeout = *d;
  }
  f.reject_unknown();
  return ok ? std::optional(a) : std::nullopt;
}

bool is_header_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

std::optional<WebhookAction> parse_webhook_action(Ctx& ctx, const toml::table& t,
                                                  const std::string& sec) {
  Fields f(ctx, t, sec, keys::webhook_action);
  WebhookAction a;
  bool ok = true;
  if (const auto* v = f.string("url")) {
    const std::string& url = v->get();
    const bool http = url.starts_with("http://"), https = url.starts_with("https://");
    const size_t host_at = http ? 7 : 8;
    if (!http && !https) {
      ctx.error(*v, f.name("url") + " must start with http:// or https://");
      ok = false;
    } else if (url.size() <= host_at || url[host_at] == '/' || url[host_at] == ':') {
      ctx.error(*v, f.name("url") + " has no host");
      ok = false;
    } else if (has_control_chars(url) || url.find(' ') != std::string::npos) {
      ctx.error(*v, f.name("url") + " cannot contain spaces or control characters");
      ok = false;
    }
    ok = check_template(ctx, *v, f.name("url")) && ok;
    a.url = url;
  } else {
    f.missing("url");
    ok = false;
  }
  if (const auto* v = f.string("method")) {
    static const std::vector<std::string> methods{"GET", "POST", "PUT", "PATCH", "DELETE"};
    if (std::find(methods.begin(), methods.end(), v->get()) == methods.end()) {
      std::string upper = v->get();
      std::transform(upper.begin(), upper.end(), upper.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      ctx.error(*v, f.name("method") + " must be GET, POST, PUT, PATCH or DELETE" +
                        did_you_mean(upper, methods));
      ok = false;
    }
    a.method = v->get();
  }
  if (const auto* headers = f.table("headers")) {
    for (auto&& [key, node] : *headers) {
      const std::string k(key.str());
      if (!is_header_token(k)) {
        ctx.error(key.source(), "'" + k + "' is not a valid HTTP header name");
        ok = false;
      }
      const auto* s = node.as_string();
      if (!s) {
        ctx.error(node, f.name("headers." + k) + " must be a string, not " + type_name(node));
        ok = false;
        continue;
      }
      // CR or LF in a value would let a config line forge further headers.
      if (has_control_chars(s->get())) {
        ctx.error(*s, f.name("headers." + k) + " cannot contain control characters");
        ok = false;
      }
      ok = check_template(ctx, *s, f.name("headers." + k)) && ok;
      a.headers.emplace_back(k, s->get());
    }
  }
  if (const auto* v = f.string("body")) {
    ok = check_template(ctx, *v, f.name("body")) && ok;
    a.body = v->get();
  }
  if (const auto* v = f.string("timeout")) {
    const auto d = duration_value(ctx, *v, f.name("timeout"), 100ms, 5min);
    ok = d.has_value() && ok;
    if (d) a.timeout = *d;
  }
  f.reject_unknown();
  return ok ? std::optional(a) : std::nullopt;
}

void parse_actions(Ctx& ctx, const toml::array& arr, const std::string& sec,
                   std::vector<Action>& out) {
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string name = sec + "[" + std::to_string(i) + "]";
    const auto* t = arr[i].as_table();
    if (!t) {
      ctx.error(arr[i], name + " must be a table such as { mqtt = { topic = \"...\" } }, not " +
                            type_name(arr[i]));
      continue;
    }
    if (t->size() != 1) {
      ctx.error(*t, name + " must have exactly one of mqtt, exec or webhook");
      if (t->empty()) continue;
    }
    for (auto&& [key, node] : *t) {
      const std::string kind(key.str());
      const std::string kname = name + "." + kind;
      if (kind == "mqtt") {
        if (const auto* mt = node.as_table()) {
          if (auto a = parse_mqtt_action(ctx, *mt, kname)) out.emplace_back(std::move(*a));
        } else {
          ctx.error(node, kname + " must be a table { topic = \"...\", payload = \"...\" }");
        }
      } else if (kind == "exec") {
        if (auto a = parse_exec_action(ctx, node, kname)) out.emplace_back(std::move(*a));
      } else if (kind == "webhook") {
        if (const auto* wt = node.as_table()) {
          if (auto a = parse_webhook_action(ctx, *wt, kname)) out.emplace_back(std::move(*a));
        } else {
          ctx.error(node, kname + " must be a table { url = \"...\" }");
        }
      } else {
        ctx.error(key.source(), "unknown action '" + kind + "' (mqtt, exec or webhook)" +
                                    did_you_mean(kind, keys::action));
      }
    }
  }
}

// ---- buttons -----------------------------------------------------------------------------

/// The keys a button has wherever it is written; `name` only inline.
void parse_button_fields(Ctx& ctx, Fields& f, const toml::table& t, Button& b) {
  if (const auto* v = f.string("mac")) {
    b.mac_where = ctx.at(v->source());
    const auto mac = util::Mac::parse(v->get());
    if (!mac) {
      ctx.error(*v, f.name("mac") + ": '" + v->get() + "' is not a MAC address (like 68:54:fd:12:34:56)");
    } else if (mac->is_multicast() || mac->is_zero()) {
      ctx.error(*v, f.name("mac") + ": " + mac->str() + " is not a device's address");
    } else {
      b.mac = mac;
    }
  }
  if (const auto* v = f.string("ip")) {
    b.ip_where = ctx.at(v->source());
    if (auto ip = util::Ipv4::parse(v->get()); ip && (ip->value >> 24) != 0 && ip->value < 0xe0000000u) {
      b.ip = ip;
    } else if (ip) {
      ctx.error(*v, f.name("ip") + ": " + ip->str() + " cannot be a device's address");
    } else {
      ctx.error(*v, f.name("ip") + ": '" + v->get() + "' is not an IPv4 address");
    }
  }
  if (const auto* v = f.string("window")) {
    if (auto d = duration_value(ctx, *v, f.name("window"), 100ms, 1h)) b.window = *d;
  }
  if (const auto* arr = f.array("on_press")) parse_actions(ctx, *arr, f.name("on_press"), b.on_press);
  if (const auto* v = f.string("battery_capacity")) {
    if (auto d = duration_value(ctx, *v, f.name("battery_capacity"), 1min, 1000h))
      b.battery_capacity = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  if (const auto* v = f.integer("battery_warning")) {
    if (v->get() < 0 || v->get() > 99)
      ctx.error(*v, f.name("battery_warning") + " must be a percentage from 0 (never warn) to 99");
    else
      b.battery_warning = static_cast<unsigned>(v->get());
  }
  if (!f.take("mac") && !f.take("ip")) {
    const std::string where = b.own_file ? "buttons.d/" + b.name + ".toml" : "its [[button]] table";
    ctx.error(t.source(), "button '" + b.name + "' needs a mac or an ip to be recognised by: add mac = \"<its MAC "
                          "address>\" (or ip = \"<its static address>\") to " + where);
  }
}

void parse_inline_button(Ctx& ctx, const toml::node& n, size_t index, Config& out) {
  const std::string sec = "button[" + std::to_string(index) + "]";
  const auto* t = n.as_table();
  if (!t) {
    ctx.error(n, "each button must be a table ([[button]]), not " + std::string(type_name(n)));
    return;
  }
  Fields f(ctx, *t, sec, keys::inline_button);
  Button b;
  b.where = ctx.at(t->source());
  b.own_file = false;
  if (const auto* v = f.string("name")) {
    b.where = ctx.at(v->source());
    if (!util::is_button_name(v->get())) {
      ctx.error(*v, "button name '" + v->get() + "' is not valid: " + util::button_name_rule());
    }
    b.name = v->get();
  } else {
    f.missing("name");
  }
  parse_button_fields(ctx, f, *t, b);
  f.reject_unknown();
  out.buttons.push_back(std::move(b));
}

// ---- sections ----------------------------------------------------------------------------

std::optional<ForwardAllow> parse_forward_allow(Ctx& ctx, const toml::table& t, const std::string& sec) {
  Fields f(ctx, t, sec, keys::forward_allow);
  ForwardAllow a;
  bool ok = true;
  if (const auto* v = f.string("to")) {
    std::string why;
    if (auto ip = util::Ipv4::parse(v->get())) {
      a.to = {*ip, 32};
    } else if (auto p = util::Ipv4Prefix::parse(v->get(), &why)) {
      a.to = *p;
    } else {
      ctx.error(*v, f.name("to") + ": '" + v->get() + "' is not an IPv4 address or network" +
                        (why.empty() || v->get().find('/') == std::string::npos ? "" : " (" + why + ")"));
      ok = false;
    }
  } else {
    f.missing("to");
    ok = false;
  }
  if (const auto* v = f.string("proto")) {
    if (v->get() == "tcp") {
      a.proto = ForwardAllow::Proto::tcp;
    } else if (v->get() == "udp") {
      a.proto = ForwardAllow::Proto::udp;
    } else {
      ctx.error(*v, f.name("proto") + " must be \"tcp\" or \"udp\"");
      ok = false;
    }
  }
  if (const auto* n = f.take("port")) {
    if (auto p = port_value(ctx, *n, f.name("port"))) {
      a.port = p;
      if (a.proto == ForwardAllow::Proto::any) {
        ctx.error(*n, f.name("port") + " needs proto = \"tcp\" or \"udp\"");
        ok = false;
      }
    } else {
      ok = false;
    }
  }
  f.reject_unknown();
  return ok ? std::optional(a) : std::nullopt;
}

void parse_network(Ctx& ctx, const toml::table* t, Config& out) {
  if (!t) {
    ctx.error(toml::source_region{}, "missing [network] section (at least iot_interface)");
    return;
  }
  Fields f(ctx, *t, "network", keys::network);
  auto& net = out.network;
  if (const auto* v = f.string("iot_interface")) {
    if (const auto p = util::interface_name_problem(v->get())) ctx.error(*v, "network.iot_interface: " + *p);
    net.iot_interface = v->get();
  } else {
    f.missing("iot_interface", " (the interface the buttons are on, e.g. \"br-iot\")");
  }
  if (const auto* v = f.string("listen_address")) {
    const auto ip = util::Ipv4::parse(v->get());
    if (!ip) {
      ctx.error(*v, "network.listen_address: '" + v->get() + "' is not an IPv4 address");
    } else if (ip->value == 0 || ip->value >= 0xe0000000u) {
      ctx.error(*v, "network.listen_address: " + ip->str() + " cannot be this host's address");
    } else {
      net.listen_address = ip;
    }
  }
  if (const auto* v = f.string("subnet")) {
    std::string why;
    if (auto p = util::Ipv4Prefix::parse(v->get(), &why)) {
      net.subnet = p;
      if (net.listen_address && !p->contains(*net.listen_address))
        ctx.error(*v, "network.subnet " + p->str() + " does not contain listen_address " +
                          net.listen_address->str());
    } else {
      ctx.error(*v, "network.subnet: " + why);
    }
  }
  if (const auto* n = f.take("listen_port")) {
    if (auto p = unprivileged_port(ctx, *n, "network.listen_port", "the listener")) net.listen_port = *p;
  }
  if (const auto* arr = f.array("intercept_ports")) {
    net.intercept_ports.clear();
    if (arr->empty()) ctx.error(*arr, "network.intercept_ports needs at least one port (443)");
    for (const auto& n : *arr) {
      const auto p = port_value(ctx, n, "network.intercept_ports");
      if (!p) continue;
      if (std::find(net.intercept_ports.begin(), net.intercept_ports.end(), *p) !=
          net.intercept_ports.end())
        ctx.error(n, "network.intercept_ports lists " + std::to_string(*p) + " twice");
      else if (*p == net.listen_port)
        ctx.error(n, "network.intercept_ports cannot contain listen_port " + std::to_string(*p));
      else
        net.intercept_ports.push_back(*p);
    }
  }
  if (const auto* v = f.string("lease_range")) {
    std::string why;
    if (auto r = util::Ipv4Range::parse(v->get(), &why)) {
      if (net.subnet && !(net.subnet->contains(r->first) && net.subnet->contains(r->last))) {
        ctx.error(*v, "network.lease_range " + r->str() + " is not inside the IoT subnet " +
                          net.subnet->str());
      } else if (net.subnet && (r->contains(net.subnet->network) ||
                                r->contains(net.subnet->broadcast()))) {
        ctx.error(*v, "network.lease_range " + r->str() +
                          " contains the network or broadcast address of " + net.subnet->str());
      } else if (net.listen_address && r->contains(*net.listen_address)) {
        ctx.error(*v, "network.lease_range " + r->str() + " contains listen_address " +
                          net.listen_address->str());
      } else {
        net.lease_range = r;
      }
    } else {
      ctx.error(*v, "network.lease_range: " + why);
    }
  }
  if (const auto* v = f.boolean("isolate")) net.isolate = v->get();
  if (const auto* v = f.boolean("force_dns")) net.force_dns = v->get();
  if (const auto* v = f.integer("nflog_group")) {
    // learn takes the group after it.
    if (v->get() < 0 || v->get() > 65534)
      ctx.error(*v, "network.nflog_group must be 0 to 65534 ('dashctl learn' uses the next group)");
    else
      net.nflog_group = static_cast<uint16_t>(v->get());
  }
  if (const auto* v = f.boolean("tls")) net.tls = v->get();
  if (const auto* v = f.boolean("ntp")) net.ntp = v->get();
  if (const auto* n = f.take("ntp_port")) {
    if (auto p = unprivileged_port(ctx, *n, "network.ntp_port", "the daemon")) net.ntp_port = *p;
  }
  if (const auto* arr = f.array("forward_allow")) {
    for (size_t i = 0; i < arr->size(); ++i) {
      const std::string sec = "network.forward_allow[" + std::to_string(i) + "]";
      const auto* entry = (*arr)[i].as_table();
      if (!entry) {
        ctx.error((*arr)[i], sec + " must be a table such as { to = \"10.78.0.5\", proto = \"tcp\", port = 8123 }");
        continue;
      }
      if (auto allow = parse_forward_allow(ctx, *entry, sec)) net.forward_allow.push_back(*allow);
    }
  }
  f.reject_unknown();
}

void parse_intercept(Ctx& ctx, const toml::table* t, Config& out) {
  out.intercept.hostnames = default_hostnames();
  if (!t) return;
  Fields f(ctx, *t, "intercept", keys::intercept);
  if (const auto* arr = f.array("hostnames")) {
    out.intercept.hostnames.clear();
    if (arr->empty()) ctx.error(*arr, "intercept.hostnames needs at least one host name");
    std::set<std::string> seen;
    for (const auto& n : *arr) {
      const auto* s = n.as_string();
      if (!s) {
        ctx.error(n, "intercept.hostnames must hold strings, not " + std::string(type_name(n)));
        continue;
      }
      std::string host = s->get();
      std::transform(host.begin(), host.end(), host.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (const auto p = util::hostname_problem(host)) {
        ctx.error(*s, "intercept.hostnames: " + *p);
      } else if (!seen.insert(host).second) {
        ctx.error(*s, "intercept.hostnames lists '" + host + "' twice");
      } else {
        out.intercept.hostnames.push_back(host);
      }
    }
  }
  f.reject_unknown();
}

void parse_dnsmasq(Ctx& ctx, const toml::table* t, Config& out) {
  if (!t) return;
  Fields f(ctx, *t, "dnsmasq", keys::dnsmasq);
  auto& d = out.dnsmasq;
  if (const auto* v = f.string("conf_dir")) {
    if (auto p = absolute_path(ctx, *v, "dnsmasq.conf_dir")) d.conf_dir = *p;
  }
  if (const auto* v = f.string("state_dir")) {
    // The path is written into dnsmasq's drop-in, whose syntax has no quoting.
    if (v->get().find_first_of(" \t,#\"'\\") != std::string::npos)
      ctx.error(*v, "dnsmasq.state_dir cannot contain spaces, ',', '#', quotes or backslashes (dnsmasq's syntax)");
    else if (auto p = absolute_path(ctx, *v, "dnsmasq.state_dir"))
      d.state_dir = *p;
    if (d.state_dir == d.conf_dir)
      ctx.error(*v, "dnsmasq.state_dir must differ from conf_dir: dnsmasq would read the hosts files as config");
  }
  if (const auto* v = f.string("leases_file")) {
    if (auto p = absolute_path(ctx, *v, "dnsmasq.leases_file")) d.leases_file = *p;
  }
  if (const auto* v = f.boolean("dhcp_script")) d.dhcp_script = v->get();
  if (const auto* n = f.take("reload")) {
    const char* how =
        "dnsmasq.reload must be \"pidfile:/path/to/dnsmasq.pid\", \"systemctl\", "
        "\"systemctl:UNIT\" or a command as an array [\"/path/to/program\", \"arg\"...]";
    if (const auto* s = n->as_string()) {
      const std::string& r = s->get();
      if (r.starts_with("pidfile:") && r.size() > 9 && r[8] == '/' && !has_control_chars(r)) {
        d.reload.kind = Reload::Kind::pidfile;
        d.reload.pidfile = r.substr(8);
      } else if (r == "systemctl") {
        d.reload.kind = Reload::Kind::systemctl;
      } else if (r.starts_with("systemctl:") && r.size() > 10 &&
                 std::all_of(r.begin() + 10, r.end(), [](char c) {
                   return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                          c == '.' || c == '@';
                 })) {
        d.reload.kind = Reload::Kind::systemctl;
        d.reload.unit = r.substr(10);
      } else {
        ctx.error(*s, how);
      }
    } else if (const auto* arr = n->as_array()) {
      std::vector<std::string> argv;
      // Same rules as an exec action's argv; there is no press, so braces stay as written.
      if (parse_argv(ctx, *arr, "dnsmasq.reload", argv)) {
        d.reload.kind = Reload::Kind::command;
        d.reload.command = std::move(argv);
      }
    } else {
      ctx.error(*n, how);
    }
  }
  f.reject_unknown();
}

void parse_mqtt(Ctx& ctx, const toml::table* t, Config& out) {
  if (!t) return;
  Fields f(ctx, *t, "mqtt", keys::mqtt);
  Mqtt m;
  if (const auto* v = f.string("url")) {
    const std::string& url = v->get();
    std::string rest;
    if (url.starts_with("mqtt://")) {
      rest = url.substr(7);
    } else if (url.starts_with("mqtts://")) {
      rest = url.substr(8);
      m.tls = true;
      m.port = 8883;
    }
    const auto colon = rest.rfind(':');
    const std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
    bool ok = !rest.empty() && (util::Ipv4::parse(host) || !util::hostname_problem(host));
    if (ok && colon != std::string::npos) {
      const std::string port = rest.substr(colon + 1);
      ok = !port.empty() && port.size() <= 5 &&
           std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
           std::stoi(port) >= 1 && std::stoi(port) <= 65535;
      if (ok) m.port = static_cast<uint16_t>(std::stoi(port));
    }
    if (ok) {
      m.url = url;
      m.host = host;
    } else {
      ctx.error(*v, "mqtt.url: '" + url + "' is not a broker URL (mqtt://HOST[:PORT] or mqtts://HOST[:PORT])");
    }
  }
  auto topic_root = [&](const char* key, std::string& into) {
    if (const auto* v = f.string(key)) {
      auto p = topic_problem(v->get());
      if (p.empty() && (v->get().front() == '/' || v->get().back() == '/'))
        p = "cannot start or end with '/'";
      if (p.empty() && v->get().find('{') != std::string::npos) p = "cannot contain placeholders";
      if (!p.empty())
        ctx.error(*v, f.name(key) + ": " + p);
      else
        into = v->get();
    }
  };
  topic_root("topic_prefix", m.topic_prefix);
  topic_root("discovery_prefix", m.discovery_prefix);
  if (const auto* v = f.string("client_id")) {
    if (v->get().empty() || v->get().size() > 64 || has_control_chars(v->get()))
      ctx.error(*v, "mqtt.client_id must be 1 to 64 printable characters");
    else
      m.client_id = v->get();
  }
  if (const auto* v = f.string("username")) m.username = v->get();
  if (const auto* v = f.string("password")) m.password = v->get();
  if (const auto* v = f.integer("qos")) {
    if (v->get() < 0 || v->get() > 2)
      ctx.error(*v, "mqtt.qos must be 0, 1 or 2");
    else
      m.qos = static_cast<int>(v->get());
  }
  if (const auto* v = f.integer("queue_limit")) {
    if (v->get() < 0 || v->get() > 1'000'000)
      ctx.error(*v, "mqtt.queue_limit must be 0 to 1000000 messages");
    else
      m.queue_limit = static_cast<size_t>(v->get());
  }
  if (const auto* v = f.boolean("homeassistant")) m.homeassistant = v->get();
  f.reject_unknown();
  out.mqtt = std::move(m);
}

void parse_daemon(Ctx& ctx, const toml::table* t, Config& out) {
  out.daemon.control_socket = default_control_socket();
  out.daemon.event_socket = default_event_socket(out.daemon.control_socket);
  out.daemon.state_dir = default_daemon_state_dir();
  if (!t) return;
  Fields f(ctx, *t, "daemon", keys::daemon);
  auto& d = out.daemon;
  // sun_path holds 108 bytes with its terminating NUL.
  for (const auto* key : {"control_socket", "event_socket"}) {
    const auto* v = f.string(key);
    if (!v) continue;
    const std::string name = std::string("daemon.") + key;
    auto p = absolute_path(ctx, *v, name);
    if (p && p->size() >= 108) {
      ctx.error(*v, name + " is longer than a unix socket path can be (107 bytes)");
    } else if (p) {
      (std::string_view(key) == "control_socket" ? d.control_socket : d.event_socket) = *p;
      if (std::string_view(key) == "control_socket") d.event_socket = default_event_socket(*p);
      else if (*p == d.control_socket) ctx.error(*v, "daemon.event_socket must differ from daemon.control_socket");
    }
  }
  if (const auto* v = f.integer("max_connections")) {
    if (v->get() < 1 || v->get() > 65535)
      ctx.error(*v, "daemon.max_connections must be 1 to 65535");
    else
      d.max_connections = static_cast<size_t>(v->get());
  }
  if (const auto* v = f.string("connection_timeout")) {
    if (auto ms = duration_value(ctx, *v, "daemon.connection_timeout", 100ms, 1min)) d.connection_timeout = *ms;
  }
  if (const auto* v = f.string("shutdown_grace")) {
    if (auto ms = duration_value(ctx, *v, "daemon.shutdown_grace", 0ms, 1min)) d.shutdown_grace = *ms;
  }
  if (const auto* v = f.string("state_dir")) {
    if (auto p = absolute_path(ctx, *v, "daemon.state_dir")) d.state_dir = *p;
  }
  if (const auto* v = f.integer("max_handshakes")) {
    if (v->get() < 1 || v->get() > 1024)
      ctx.error(*v, "daemon.max_handshakes must be 1 to 1024");
    else
      d.max_handshakes = static_cast<size_t>(v->get());
  }
  if (const auto* v = f.integer("handshakes_per_address")) {
    if (v->get() < 1 || v->get() > 100000)
      ctx.error(*v, "daemon.handshakes_per_address must be 1 to 100000");
    else
      d.handshakes_per_address = static_cast<unsigned>(v->get());
  }
  f.reject_unknown();
}

/// Parses text into a table, or reports the syntax error.
std::optional<toml::table> parse_toml(Ctx& ctx, std::string_view text) {
  try {
    return toml::parse(text, ctx.file);
  } catch (const toml::parse_error& e) {
    ctx.error(e.source(), std::string(e.description()));
    return std::nullopt;
  }
}

}  // namespace

void parse_main(std::string_view text, const std::string& file, Config& out,
                std::vector<Diagnostic>& problems) {
  Ctx ctx{file, problems};
  out.intercept.hostnames = default_hostnames();
  out.daemon.control_socket = default_control_socket();
  const auto root = parse_toml(ctx, text);
  if (!root) return;
  Fields f(ctx, *root, "", keys::root);
  parse_network(ctx, f.table("network"), out);
  parse_intercept(ctx, f.table("intercept"), out);
  parse_dnsmasq(ctx, f.table("dnsmasq"), out);
  parse_mqtt(ctx, f.table("mqtt"), out);
  parse_daemon(ctx, f.table("daemon"), out);
  if (const auto* buttons = f.array("button")) {
    for (size_t i = 0; i < buttons->size(); ++i) parse_inline_button(ctx, (*buttons)[i], i, out);
  }
  f.reject_unknown();
}

std::optional<Button> parse_button_file(std::string_view text, const std::string& file,
                                        const std::string& name,
                                        std::vector<Diagnostic>& problems) {
  Ctx ctx{file, problems};
  const auto root = parse_toml(ctx, text);
  if (!root) return std::nullopt;
  const size_t before = problems.size();
  Fields f(ctx, *root, "", keys::button);
  Button b;
  b.name = name;
  b.where = {file, 1, 1};
  b.own_file = true;
  if (const auto* n = f.take("name")) {
    ctx.error(*n, "a button file has no 'name': the button is named after its file (" + name + ")");
  }
  parse_button_fields(ctx, f, *root, b);
  f.reject_unknown();
  if (problems.size() != before) return std::nullopt;
  return b;
}

void validate(const Config& config, std::vector<Diagnostic>& problems) {
  std::map<std::string, const Button*> names;
  std::map<util::Mac, const Button*> macs;
  std::map<util::Ipv4, const Button*> ips;
  const auto& net = config.network;
  for (const auto& b : config.buttons) {
    if (!b.name.empty()) {
      if (const auto [it, fresh] = names.emplace(b.name, &b); !fresh) {
        problems.push_back({b.where, "button '" + b.name + "' is defined twice: here and at " +
                                         it->second->where.str()});
      }
    }
    if (b.mac) {
      if (const auto [it, fresh] = macs.emplace(*b.mac, &b); !fresh) {
        problems.push_back({b.mac_where, "MAC " + b.mac->str() + " of button '" + b.name +
                                             "' is already used by button '" + it->second->name +
                                             "' (" + it->second->mac_where.str() + ")"});
      }
    }
    if (b.ip) {
      if (const auto [it, fresh] = ips.emplace(*b.ip, &b); !fresh) {
        problems.push_back({b.ip_where, "address " + b.ip->str() + " of button '" + b.name +
                                            "' is already used by button '" + it->second->name +
                                            "' (" + it->second->ip_where.str() + ")"});
      }
      if (net.listen_address && *b.ip == *net.listen_address) {
        problems.push_back({b.ip_where, "address " + b.ip->str() + " of button '" + b.name +
                                            "' is the listen address"});
      } else if (net.subnet && !net.subnet->contains(*b.ip)) {
        problems.push_back({b.ip_where, "address " + b.ip->str() + " of button '" + b.name +
                                            "' is not inside the IoT subnet " + net.subnet->str()});
      } else if (net.subnet && (*b.ip == net.subnet->network || *b.ip == net.subnet->broadcast())) {
        problems.push_back({b.ip_where, "address " + b.ip->str() + " of button '" + b.name +
                                            "' is the network or broadcast address"});
      }
    }
    if (!config.mqtt) {
      for (const auto& a : b.on_press) {
        if (std::holds_alternative<MqttAction>(a)) {
          problems.push_back({b.where, "button '" + b.name + "' has an mqtt action but " +
                                           config.path + " has no [mqtt] section"});
          break;
        }
      }
    }
  }
}

}  // namespace dashctl::config
