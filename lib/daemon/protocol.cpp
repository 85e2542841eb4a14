// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/protocol.h"

#include <limits>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/text.h"

namespace dashctl::daemon {

Request parse_request(std::string_view received) {
  const std::string_view window = received.substr(0, kMaxRequest);
  const size_t end = window.find('\n');
  if (end == std::string_view::npos)
    return window.size() < kMaxRequest ? Request::incomplete : Request::too_long;
  const std::string_view line = window.substr(0, end);
  if (line == "ping") return Request::ping;
  if (line == "status") return Request::status;
  if (line == "reload") return Request::reload;
  if (parse_battery(received)) return Request::battery;
  return Request::unknown;
}

std::optional<BatteryRequest> parse_battery(std::string_view received) {
  const size_t end = received.substr(0, kMaxRequest).find('\n');
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view line = received.substr(0, end);
  constexpr std::string_view kVerb = "battery ";
  if (!line.starts_with(kVerb)) return std::nullopt;
  line.remove_prefix(kVerb.size());
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view name = line.substr(0, space), level = line.substr(space + 1);
  if (!util::is_button_name(name) || level.empty() || level.size() > 3) return std::nullopt;
  int value = 0;
  for (const char ch : level) {
    if (ch < '0' || ch > '9') return std::nullopt;
    value = value * 10 + (ch - '0');
  }
  if (value < 1 || value > 100 || level[0] == '0') return std::nullopt;
  return BatteryRequest{std::string(name), value};
}

std::string battery_request(const BatteryRequest& r) {
  return "battery " + r.button + " " + std::to_string(r.level);
}

namespace {

using nlohmann::json;

[[noreturn]] void malformed(const std::string& what) {
  throw util::Error(util::Exit::unavailable, "the daemon's status answer is malformed: " + what);
}

const json& field(const json& object, const char* key, const char* where) {
  if (!object.is_object()) malformed(std::string(where) + " is not an object");
  const auto it = object.find(key);
  if (it == object.end()) malformed(std::string(where) + " has no \"" + key + "\"");
  return *it;
}

std::string text(const json& object, const char* key, const char* where) {
  const json& j = field(object, key, where);
  if (!j.is_string()) malformed(std::string(where) + ": \"" + key + "\" is not a string");
  return j.get<std::string>();
}

/// An integer that fits T; JSON numbers with a fraction or an exponent are refused.
template <class T>
T integer(const json& object, const char* key, const char* where) {
  const json& j = field(object, key, where);
  if (j.is_number_unsigned()) {
    const auto v = j.get<uint64_t>();
    if (v <= static_cast<uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(v);
  } else if (j.is_number_integer()) {
    const auto v = j.get<int64_t>();
    if constexpr (std::numeric_limits<T>::is_signed) {
      if (v >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
          v <= static_cast<int64_t>(std::numeric_limits<T>::max()))
        return static_cast<T>(v);
    }
  }
  malformed(std::string(where) + ": \"" + key + "\" is not an integer in range");
}

/// A duration in `unit`s: a number, 0 or more and finite.
double duration(const json& object, const char* key, const char* where, const char* unit) {
  const json& j = field(object, key, where);
  if (j.is_number()) {
    const double v = j.get<double>();
    if (v >= 0 && v < 1e15) return v;
  }
  malformed(std::string(where) + ": \"" + key + "\" is not a duration in " + unit);
}

const json& array(const json& object, const char* key, const char* where) {
  const json& j = field(object, key, where);
  if (!j.is_array()) malformed(std::string(where) + ": \"" + key + "\" is not an array");
  return j;
}

bool boolean(const json& object, const char* key, const char* where) {
  const json& j = field(object, key, where);
  if (!j.is_boolean()) malformed(std::string(where) + ": \"" + key + "\" is not a boolean");
  return j.get<bool>();
}

std::optional<std::string> text_or_null(const json& object, const char* key, const char* where) {
  if (field(object, key, where).is_null()) return std::nullopt;
  return text(object, key, where);
}

ButtonHistory read_history(const json& h) {
  ButtonHistory out;
  out.presses = integer<uint64_t>(h, "presses", "a history");
  out.last_press = text_or_null(h, "last_press", "a history");
  out.last_seen = text_or_null(h, "last_seen", "a history");
  out.awake_s = duration(h, "awake_s", "a history", "seconds");
  const json& b = field(h, "battery", "a history");
  out.battery = duration(b, "estimate", "a battery", "percent");
  out.battery_since = text_or_null(b, "since", "a battery");
  out.battery_capacity_s = integer<int64_t>(b, "capacity_s", "a battery");
  out.battery_warning = integer<unsigned>(b, "warning", "a battery");
  out.battery_low = boolean(b, "low", "a battery");
  return out;
}

}  // namespace

namespace {

json sighting_json(const Status::Sighting& s) {
  return {{"source", s.source}, {"ip", s.ip}, {"mac", s.mac ? json(*s.mac) : json()}, {"time", s.time}};
}

json optional_text(const std::optional<std::string>& s) { return s ? json(*s) : json(); }

json history_json(const ButtonHistory& h) {
  return {{"presses", h.presses},
          {"last_press", optional_text(h.last_press)},
          {"last_seen", optional_text(h.last_seen)},
          {"awake_s", h.awake_s},
          {"battery",
           {{"estimate", h.battery},
            {"since", optional_text(h.battery_since)},
            {"capacity_s", h.battery_capacity_s},
            {"warning", h.battery_warning},
            {"low", h.battery_low}}}};
}

json latency_json(const LatencyFigure& f) {
  return {{"count", f.count}, {"p50_us", f.p50_us}, {"p99_us", f.p99_us}, {"max_us", f.max_us}};
}

}  // namespace

nlohmann::json status_json(const Status& s) {
  json buttons = json::array();
  for (const auto& b : s.buttons) {
    json j{{"name", b.name},
           {"presses", b.presses},
           {"sightings", b.sightings},
           {"last_press", b.last_press ? sighting_json(*b.last_press) : json()}};
    if (b.press_sources) j["press_sources"] = *b.press_sources;
    if (b.last_press_span_ms) j["last_press_span_ms"] = *b.last_press_span_ms;
    j["history"] = history_json(b.history);
    buttons.push_back(std::move(j));
  }
  json unknown = json::array();
  for (const auto& u : s.unknown)
    unknown.push_back({{"ip", u.ip},
                       {"mac", u.mac ? json(*u.mac) : json()},
                       {"sightings", u.sightings},
                       {"last", sighting_json(u.last)}});
  json mqtt;
  if (s.mqtt)
    mqtt = {{"connected", s.mqtt->connected},
            {"published", s.mqtt->published},
            {"queued", s.mqtt->queued},
            {"dropped", s.mqtt->dropped}};
  const auto& c = s.counters;
  return {{"pid", s.pid},
          {"version", s.version},
          {"config", s.config},
          {"started", s.started},
          {"uptime_s", s.uptime_s},
          {"listen", s.listen},
          {"counters",
           {{"connections", c.connections},
            {"busy", c.busy},
            {"open_connections", c.open_connections},
            {"sightings", c.sightings},
            {"presses", c.presses},
            {"unknown", c.unknown},
            {"unknown_suppressed", c.unknown_suppressed},
            {"actions_ok", c.actions_ok},
            {"actions_failed", c.actions_failed},
            {"actions_running", c.actions_running},
            {"dhcp_events", c.dhcp_events},
            {"bad_datagrams", c.bad_datagrams},
            {"events_outside", c.events_outside},
            {"nflog_packets", c.nflog_packets},
            {"nflog_malformed", c.nflog_malformed},
            {"ntp_answered", c.ntp_answered},
            {"ntp_ignored", c.ntp_ignored},
            {"tls_handshakes", c.tls_handshakes},
            {"tls_alerts", c.tls_alerts},
            {"tls_failed", c.tls_failed},
            {"tls_capped", c.tls_capped}}},
          {"sources",
           {{"connect", true},
            {"dhcp", s.event_socket},
            {"nflog", s.nflog ? json(*s.nflog) : json(false)},
            {"nflog_lost", s.nflog_lost},
            {"ntp", s.ntp ? json(*s.ntp) : json(false)},
            {"tls", s.tls}}},
          {"latency",
           {{"accept_to_dispatch", latency_json(s.accept_to_dispatch)},
            {"press_to_action", latency_json(s.press_to_action)}}},
          {"mqtt", mqtt},
          {"history",
           {{"file", s.history.path},
            {"writes", s.history.writes},
            {"write_errors", s.history.write_errors},
            {"problem", optional_text(s.history.problem)}}},
          {"buttons", buttons},
          {"unknown", unknown}};
}

StatusAnswer read_status(const nlohmann::json& d) {
  try {
    StatusAnswer s;
    s.pid = integer<int>(d, "pid", "the answer");
    s.uptime_s = integer<int64_t>(d, "uptime_s", "the answer");
    s.listen = text(d, "listen", "the answer");
    const json& counters = field(d, "counters", "the answer");
    s.connections = integer<unsigned long long>(counters, "connections", "counters");
    s.presses = integer<unsigned long long>(counters, "presses", "counters");
    if (const auto m = d.find("mqtt"); m != d.end() && !m->is_null()) {
      StatusAnswer::Mqtt mqtt;
      mqtt.connected = boolean(*m, "connected", "mqtt");
      mqtt.published = integer<unsigned long long>(*m, "published", "mqtt");
      mqtt.queued = integer<unsigned long long>(*m, "queued", "mqtt");
      mqtt.dropped = integer<unsigned long long>(*m, "dropped", "mqtt");
      s.mqtt = mqtt;
    }
    if (const auto src = d.find("sources"); src != d.end()) {
      StatusAnswer::Sources sources;
      sources.dhcp = text(*src, "dhcp", "sources");
      if (field(*src, "nflog", "sources").is_number()) sources.nflog = integer<int>(*src, "nflog", "sources");
      s.sources = sources;
      if (src->contains("ntp")) {
        StatusAnswer::ButtonLife life;
        if (field(*src, "ntp", "sources").is_number()) life.ntp_port = integer<int>(*src, "ntp", "sources");
        life.tls = boolean(*src, "tls", "sources");
        life.ntp_answered = integer<unsigned long long>(counters, "ntp_answered", "counters");
        life.tls_handshakes = integer<unsigned long long>(counters, "tls_handshakes", "counters");
        life.tls_alerts = integer<unsigned long long>(counters, "tls_alerts", "counters");
        life.tls_failed = integer<unsigned long long>(counters, "tls_failed", "counters");
        s.life = life;
      }
    }
    if (const auto l = d.find("latency"); l != d.end()) {
      auto figure = [&](const char* key) {
        const json& f = field(*l, key, "latency");
        StatusAnswer::Latency out;
        out.count = integer<unsigned long long>(f, "count", key);
        out.p50_us = duration(f, "p50_us", key, "microseconds");
        out.p99_us = duration(f, "p99_us", key, "microseconds");
        out.max_us = duration(f, "max_us", key, "microseconds");
        return out;
      };
      s.latency = std::pair{figure("accept_to_dispatch"), figure("press_to_action")};
    }
    if (const auto h = d.find("history"); h != d.end()) {
      HistoryFile file;
      file.path = text(*h, "file", "history");
      file.writes = integer<uint64_t>(*h, "writes", "history");
      file.write_errors = integer<uint64_t>(*h, "write_errors", "history");
      file.problem = text_or_null(*h, "problem", "history");
      s.history = file;
    }
    for (const auto& b : array(d, "buttons", "the answer")) {
      StatusAnswer::Button button;
      button.name = text(b, "name", "a button");
      button.presses = integer<unsigned long long>(b, "presses", "a button");
      const json& last = field(b, "last_press", "a button");
      if (!last.is_null()) button.last_press = StatusAnswer::Press{text(last, "time", "a last press"),
                                                                   text(last, "ip", "a last press")};
      if (b.contains("last_press_span_ms")) button.last_press_span_ms = duration(b, "last_press_span_ms", "a button", "milliseconds");
      if (b.contains("press_sources")) {
        for (const auto& src : array(b, "press_sources", "a button")) {
          if (!src.is_string()) malformed("a button: a press source is not a string");
          button.press_sources.push_back(src.get<std::string>());
        }
      }
      if (b.contains("history")) button.history = read_history(field(b, "history", "a button"));
      s.buttons.push_back(std::move(button));
    }
    for (const auto& u : array(d, "unknown", "the answer")) {
      StatusAnswer::Unknown device;
      device.ip = text(u, "ip", "an unknown device");
      if (!field(u, "mac", "an unknown device").is_null()) device.mac = text(u, "mac", "an unknown device");
      device.sightings = integer<unsigned long long>(u, "sightings", "an unknown device");
      device.last_time = text(field(u, "last", "an unknown device"), "time", "an unknown device's last sighting");
      s.unknown.push_back(std::move(device));
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    malformed(e.what());
  }
}

}  // namespace dashctl::daemon
