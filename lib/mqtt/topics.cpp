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

std::string availability_topic(const config::Mqtt& m) { return m.topic_prefix + "/status"; }

std::vector<Message> discovery_messages(const config::Config& c) {
  std::vector<Message> out;
  if (!c.mqtt || !c.mqtt->homeassistant) return out;
  const config::Mqtt& m = *c.mqtt;
  for (const auto& b : c.buttons) {
    const std::string id = "dashctl_" + b.name;
    Json device = {{"identifiers", Json::array({id})}, {"name", b.name}};
    if (b.mac) device["connections"] = Json::array({Json::array({"mac", b.mac->str()})});
    device["manufacturer"] = "dashctl";
    const Json j = {{"automation_type", "trigger"},
                    {"topic", press_topic(m, b.name)},
                    {"type", "button_short_press"},
                    {"subtype", "button_1"},
                    {"device", device},
                    {"availability_topic", availability_topic(m)}};
    // QoS 1 whatever [mqtt] qos says: a lost config is a button Home Assistant never shows.
    out.push_back({m.discovery_prefix + "/device_automation/" + id + "/button_short_press/config", dump(j), 1, true});
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
  return out;
}

}  // namespace dashctl::mqtt
