// SPDX-License-Identifier: GPL-2.0-or-later
#include "mqtt/topics.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "util/time.h"

namespace dashctl::mqtt {

namespace {

// Keys in the order topics.h documents them: easier to read in a broker's log.
using Json = nlohmann::ordered_json;

Json mac_json(const std::optional<util::Mac>& mac) { return mac ? Json(mac->str()) : Json(nullptr); }

/// Names come from the config, which need not be valid UTF-8: replace, never throw.
std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string press_topic(const config::Mqtt& m, const std::string& button) {
  return m.topic_prefix + "/" + button + "/press";
}

std::string state_topic(const config::Mqtt& m, const std::string& button) {
  return m.topic_prefix + "/" + button + "/state";
}

Json time_json(const std::optional<history::Wall>& t) { return t ? Json(util::iso8601(*t)) : Json(nullptr); }

/// The estimate as shown: whole percent.
int battery_percent(const config::Button& b, const history::Record& r) {
  return static_cast<int>(history::battery_level(r.battery, b.battery_capacity) + 0.5);
}

/// The Home Assistant device of a button: its trigger and its sensors share it.
Json device_json(const config::Button& b) {
  Json device = {{"identifiers", Json::array({"dashctl_" + b.name})}, {"name", b.name}};
  if (b.mac) device["connections"] = Json::array({Json::array({"mac", b.mac->str()})});
  device["manufacturer"] = "dashctl";
  return device;
}

/// The sensors under a button's device: {key, name, the keys that make it what it is}.
struct Sensor {
  const char* key;
  const char* name;
  Json extra;
};

std::vector<Sensor> sensors() {
  return {{"battery", "Battery (estimate)",
           {{"device_class", "battery"}, {"unit_of_measurement", "%"}, {"state_class", "measurement"},
            {"entity_category", "diagnostic"}}},
          {"presses", "Presses", {{"state_class", "total_increasing"}, {"icon", "mdi:gesture-tap-button"}}},
          {"last_press", "Last press", {{"device_class", "timestamp"}}},
          {"last_seen", "Last seen", {{"device_class", "timestamp"}, {"entity_category", "diagnostic"}}}};
}

}  // namespace

Message press_message(const config::Mqtt& m, const press::Press& p) {
  const Json j = {{"button", p.button},
                  {"mac", mac_json(p.first.mac)},
                  {"ip", p.first.ip.str()},
                  {"source", press::source_name(p.first.source)},
                  {"time", util::iso8601(p.first.wall, true)},
                  {"count", p.number}};
  return {press_topic(m, p.button), dump(j), m.qos, false};
}

Message unknown_message(const config::Mqtt& m, const press::Sighting& s) {
  const Json j = {{"mac", mac_json(s.mac)},
                  {"ip", s.ip.str()},
                  {"source", press::source_name(s.source)},
                  {"time", util::iso8601(s.wall, true)}};
  return {m.topic_prefix + "/unknown", dump(j), m.qos, false};
}

Message unknown_summary_message(const config::Mqtt& m, uint64_t held_back, std::chrono::seconds window) {
  const Json j = {{"held_back", held_back},
                  {"window_s", window.count()},
                  {"time", util::iso8601(std::chrono::system_clock::now())}};
  return {m.topic_prefix + "/unknown/summary", dump(j), m.qos, false};
}

std::string availability_topic(const config::Mqtt& m) { return m.topic_prefix + "/status"; }

Message state_message(const config::Mqtt& m, const config::Button& b, const history::Record& r) {
  const Json j = {{"presses", r.presses},
                  {"last_press", time_json(r.last_press ? std::optional(r.last_press->time) : std::nullopt)},
                  {"last_seen", time_json(r.last_seen)},
                  {"awake_s", static_cast<double>(r.awake_ms / 100) / 10.0},
                  {"battery", battery_percent(b, r)},
                  {"battery_low", history::battery_low(r.battery, b)},
                  {"battery_since", time_json(r.battery.since)}};
  return {state_topic(m, b.name), dump(j), m.qos, true};
}

Message battery_low_message(const config::Mqtt& m, const config::Button& b, const history::Record& r,
                            std::chrono::system_clock::time_point now) {
  const Json j = {{"button", b.name},
                  {"battery", battery_percent(b, r)},
                  {"warning", b.battery_warning},
                  {"time", util::iso8601(now)}};
  return {m.topic_prefix + "/" + b.name + "/battery_low", dump(j), m.qos, false};
}

std::vector<Message> discovery_messages(const config::Config& c) {
  std::vector<Message> out;
  if (!c.mqtt || !c.mqtt->homeassistant) return out;
  const config::Mqtt& m = *c.mqtt;
  for (const auto& b : c.buttons) {
    const std::string id = "dashctl_" + b.name;
    const Json device = device_json(b);
    const Json j = {{"automation_type", "trigger"},
                    {"topic", press_topic(m, b.name)},
                    {"type", "button_short_press"},
                    {"subtype", "button_1"},
                    {"device", device},
                    {"availability_topic", availability_topic(m)}};
    // QoS 1 whatever [mqtt] qos says: a lost config is a button Home Assistant never shows.
    out.push_back({m.discovery_prefix + "/device_automation/" + id + "/button_short_press/config", dump(j), 1, true});
    for (const auto& s : sensors()) {
      Json sensor = {{"name", s.name},
                     {"unique_id", id + "_" + s.key},
                     {"state_topic", state_topic(m, b.name)},
                     // A time not known yet renders as None: Home Assistant shows "unknown".
                     {"value_template", std::string("{{ value_json.") + s.key + " if value_json." + s.key +
                                            " is not none else None }}"}};
      sensor.update(s.extra);
      sensor["device"] = device;
      sensor["availability_topic"] = availability_topic(m);
      out.push_back({m.discovery_prefix + "/sensor/" + id + "/" + s.key + "/config", dump(sensor), 1, true});
    }
  }
  return out;
}

std::vector<Message> discovery_removals(const config::Config& before, const config::Config& after) {
  // By topic rather than by name: a button also leaves when homeassistant is turned off or
  // the discovery prefix changes.
  std::set<std::string> kept;
  for (const auto& m : discovery_messages(after)) kept.insert(m.topic);
  std::vector<Message> out;
  for (const auto& m : discovery_messages(before))
    if (!kept.contains(m.topic)) out.push_back({m.topic, "", 1, true});
  // The retained state of a button gone, or of every button when MQTT's prefix moved.
  if (before.mqtt) {
    for (const auto& b : before.buttons) {
      const std::string topic = state_topic(*before.mqtt, b.name);
      const bool stays = after.mqtt && after.find_button(b.name) && state_topic(*after.mqtt, b.name) == topic;
      if (!stays) out.push_back({topic, "", 1, true});
    }
  }
  return out;
}

}  // namespace dashctl::mqtt
