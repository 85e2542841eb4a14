#pragma once
// What the daemon publishes, as pure functions: press events and Home Assistant discovery.

#include <string>
#include <vector>

#include "config/model.h"
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

/// `<prefix>/status`: the availability topic ("online"/"offline", retained).
std::string availability_topic(const config::Mqtt& m);

/// Home Assistant device triggers, one per button, retained:
/// `<discovery_prefix>/device_automation/dashctl_<button>/button_short_press/config` with
/// {"automation_type":"trigger","topic":"<prefix>/<button>/press","type":"button_short_press",
///  "subtype":"button_1","device":{"identifiers":["dashctl_<button>"],"name":"<button>",
///  "connections":[["mac","<mac>"]] (when known),"manufacturer":"dashctl"},
///  "availability_topic":"<prefix>/status"}. Empty when homeassistant = false.
std::vector<Message> discovery_messages(const config::Config& c);

/// Retained empty payloads that remove the triggers of buttons in `before` but not in
/// `after` (a button removed or renamed across a reload).
std::vector<Message> discovery_removals(const config::Config& before, const config::Config& after);

}  // namespace dashctl::mqtt
