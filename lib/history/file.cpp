// SPDX-License-Identifier: GPL-2.0-or-later
// The state file's codec: JSON, each time in milliseconds since the epoch.

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "history/history.h"
#include "util/error.h"
#include "util/text.h"

namespace dashctl::history {
namespace {

using nlohmann::json;
constexpr const char* kFormat = "dashctl-buttons";
constexpr int kVersion = 1;

int64_t millis(Wall t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

json optional_time(const std::optional<Wall>& t) { return t ? json(millis(*t)) : json(nullptr); }

[[noreturn]] void bad(const std::string& what) { throw util::Error(util::Exit::data, what); }

const json* member(const json& o, const char* key, const std::string& where) {
  if (!o.is_object()) bad(where + " is not an object");
  const auto it = o.find(key);
  return it == o.end() ? nullptr : &*it;
}

const json& required(const json& o, const char* key, const std::string& where) {
  const json* j = member(o, key, where);
  if (!j) bad(where + " has no \"" + key + "\"");
  return *j;
}

uint64_t count(const json& o, const char* key, const std::string& where) {
  const json& j = required(o, key, where);
  if (!j.is_number_unsigned()) bad(where + "." + key + " is not a count");
  return j.get<uint64_t>();
}

/// A time: milliseconds since the epoch, from 1970 to 2199 (the system clock's nanoseconds
/// reach to 2262).
Wall time_of(const json& j, const std::string& where) {
  constexpr int64_t kMax = 7258118399999;  // 2199-12-31T23:59:59.999Z
  if (!j.is_number_integer() || j.get<int64_t>() < 0 || j.get<int64_t>() > kMax) bad(where + " is not a time");
  return Wall(std::chrono::milliseconds(j.get<int64_t>()));
}

std::optional<Wall> optional_time_of(const json& o, const char* key, const std::string& where) {
  const json* j = member(o, key, where);
  if (!j || j->is_null()) return std::nullopt;
  return time_of(*j, where + "." + key);
}

/// A MAC or an address in its text form (T::parse), or null.
template <class T>
std::optional<T> parsed(const json& o, const char* key, const std::string& where, const char* what) {
  const json* j = member(o, key, where);
  if (!j || j->is_null()) return std::nullopt;
  std::optional<T> value;
  if (j->is_string()) value = T::parse(j->get<std::string>());
  if (!value) bad(where + "." + key + " is not " + what);
  return value;
}

std::optional<util::Mac> mac_of(const json& o, const char* key, const std::string& where) {
  return parsed<util::Mac>(o, key, where, "a MAC address");
}

std::optional<util::Ipv4> ip_of(const json& o, const char* key, const std::string& where) {
  return parsed<util::Ipv4>(o, key, where, "an IPv4 address");
}

json mac_json(const std::optional<util::Mac>& m) { return m ? json(m->str()) : json(nullptr); }
json ip_json(const std::optional<util::Ipv4>& a) { return a ? json(a->str()) : json(nullptr); }

}  // namespace

std::string encode(const std::map<std::string, Record>& records) {
  json buttons = json::object();
  for (const auto& [name, r] : records) {
    json last = nullptr;
    if (r.last_press)
      last = {{"time", millis(r.last_press->time)},
              {"sources", r.last_press->sources},
              {"ip", r.last_press->ip.str()},
              {"mac", mac_json(r.last_press->mac)}};
    buttons[name] = {{"mac", mac_json(r.mac)},
                     {"ip", ip_json(r.ip)},
                     {"presses", r.presses},
                     {"last_press", last},
                     {"last_seen", optional_time(r.last_seen)},
                     {"awake_ms", r.awake_ms},
                     {"battery",
                      {{"since", optional_time(r.battery.since)},
                       {"start_level", r.battery.start_level},
                       {"awake_ms", r.battery.awake_ms},
                       {"warned", r.battery.warned}}}};
  }
  const json j = {{"format", kFormat}, {"version", kVersion}, {"buttons", buttons}};
  // Names are the config's, checked there; never throw on what a file could hold.
  return j.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::map<std::string, Record> decode(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception&) {
    bad("not JSON");
  }
  if (!j.is_object() || !j.contains("format") || j["format"] != kFormat) bad("not a dashctl buttons file");
  if (j["version"] != kVersion) bad("a version of the file this dashctl does not read");
  // A named string, not a temporary made of "the file": GCC 14 takes a reference returned by a
  // call with a temporary argument for one to that temporary (-Wdangling-reference).
  const std::string whole_file = "the file";
  const json& buttons = required(j, "buttons", whole_file);
  if (!buttons.is_object()) bad("\"buttons\" is not an object");
  std::map<std::string, Record> out;
  for (const auto& [name, b] : buttons.items()) {
    if (!util::is_button_name(name)) bad("a name in \"buttons\" is not a button's name");
    const std::string where = "button " + name;
    Record r;
    r.mac = mac_of(b, "mac", where);
    r.ip = ip_of(b, "ip", where);
    r.presses = count(b, "presses", where);
    if (const json* lp = member(b, "last_press", where); lp && !lp->is_null()) {
      const std::string w = where + ".last_press";
      LastPress p;
      p.time = time_of(required(*lp, "time", w), w + ".time");
      const json& sources = required(*lp, "sources", w);
      if (!sources.is_array() || sources.size() > 8) bad(w + ".sources is not a list of sources");
      for (const auto& s : sources) {
        if (!s.is_string() || s.get<std::string>().size() > 16) bad(w + ".sources is not a list of sources");
        p.sources.push_back(s.get<std::string>());
      }
      const auto ip = ip_of(*lp, "ip", w);
      if (!ip) bad(w + " has no \"ip\"");
      p.ip = *ip;
      p.mac = mac_of(*lp, "mac", w);
      r.last_press = p;
    }
    r.last_seen = optional_time_of(b, "last_seen", where);
    r.awake_ms = count(b, "awake_ms", where);
    const json& battery = required(b, "battery", where);
    const std::string w = where + ".battery";
    r.battery.since = optional_time_of(battery, "since", w);
    const json& level = required(battery, "start_level", w);
    if (!level.is_number() || !(level.get<double>() >= 0 && level.get<double>() <= 100))
      bad(w + ".start_level is not a percentage");
    r.battery.start_level = level.get<double>();
    r.battery.awake_ms = count(battery, "awake_ms", w);
    const json& warned = required(battery, "warned", w);
    if (!warned.is_boolean()) bad(w + ".warned is not true or false");
    r.battery.warned = warned.get<bool>();
    out.emplace(name, std::move(r));
  }
  return out;
}

}  // namespace dashctl::history
