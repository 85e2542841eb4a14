// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// What the daemon publishes, as pure functions: press events and Home Assistant discovery.

#include <string>
#include <vector>

#include "config/model.h"
#include "history/history.h"
#include "press/press.h"

namespace dashctl::mqtt {

struct Message {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retain = false;
  bool operator==(const Message&) const = default;
};

/// Where the daemon's messages go: its MQTT client (client.h), or a fake in unit tests.
class Publisher {
 public:
  virtual ~Publisher() = default;
  /// Publishes or queues; never blocks.
  virtual void publish(const Message& m) = 0;
};

/// `<prefix>/<button>/press`, non-retained, JSON:
/// {"button":..,"mac":..|null,"ip":..,"source":..,"time":"<ISO 8601 UTC>","count":N}
Message press_message(const config::Mqtt& m, const press::Press& p);

/// `<prefix>/unknown`, non-retained, JSON: {"mac":..|null,"ip":..,"source":..,"time":..}
Message unknown_message(const config::Mqtt& m, const press::Sighting& s);

/// `<prefix>/unknown/summary`, non-retained, JSON, when unknown-device reports were held back
/// (a storm): {"held_back":N,"window_s":S,"time":..}
Message unknown_summary_message(const config::Mqtt& m, uint64_t held_back, std::chrono::seconds window);

/// `<prefix>/status`: the availability topic ("online"/"offline", retained).
std::string availability_topic(const config::Mqtt& m);

/// `<prefix>/<button>/state`, retained, JSON: the button's history as status shows it:
/// {"presses":N,"last_press":"<ISO 8601>"|null,"last_seen":..|null,"awake_s":S,
///  "battery":<estimate, whole percent>,"battery_low":bool,"battery_since":..|null}
Message state_message(const config::Mqtt& m, const config::Button& b, const history::Record& r);

/// `<prefix>/<button>/battery_low`, non-retained, once per battery when its estimate falls to
/// the button's battery_warning: {"button":..,"battery":<percent>,"warning":<percent>,"time":..}
Message battery_low_message(const config::Mqtt& m, const config::Button& b, const history::Record& r,
                            std::chrono::system_clock::time_point now);

/// Home Assistant device triggers, one per button, retained:
/// `<discovery_prefix>/device_automation/dashctl_<button>/button_short_press/config` with
/// {"automation_type":"trigger","topic":"<prefix>/<button>/press","type":"button_short_press",
///  "subtype":"button_1","device":{"identifiers":["dashctl_<button>"],"name":"<button>",
///  "connections":[["mac","<mac>"]] (when known),"manufacturer":"dashctl"},
///  "availability_topic":"<prefix>/status"}; and under the same device, sensors reading
/// the state topic: `<discovery_prefix>/sensor/dashctl_<button>/<battery|presses|last_press|
/// last_seen>/config` (battery: device_class battery, %, measurement; presses:
/// total_increasing; last_press and last_seen: device_class timestamp). Empty when
/// homeassistant = false.
std::vector<Message> discovery_messages(const config::Config& c);

/// Retained empty payloads that remove the triggers and sensors of buttons in `before` but
/// not in `after` (a button removed or renamed across a reload), and their state topics.
std::vector<Message> discovery_removals(const config::Config& before, const config::Config& after);

}  // namespace dashctl::mqtt
