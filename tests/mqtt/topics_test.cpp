// SPDX-License-Identifier: GPL-2.0-or-later
// What the daemon publishes, byte for byte: press events, unknown devices, Home Assistant
// discovery and its removal.

#include "support/catch.h"

#include <chrono>

#include "mqtt/topics.h"

using namespace dashctl;
using namespace std::chrono;

namespace {

config::Button button(const std::string& name, const char* mac = nullptr) {
  config::Button b;
  b.name = name;
  if (mac) b.mac = util::Mac::parse(mac);
  return b;
}

config::Config with_buttons(std::vector<config::Button> buttons) {
  config::Config c;
  c.mqtt = config::Mqtt{};
  c.buttons = std::move(buttons);
  return c;
}

/// 2026-11-22T03:04:05.123Z
system_clock::time_point sample_time() {
  return sys_days{year{2026} / November / 22} + 3h + 4min + 5s + 123ms;
}

/// The device triggers only (the sensors are checked on their own).
std::vector<mqtt::Message> triggers(const std::vector<mqtt::Message>& all) {
  std::vector<mqtt::Message> out;
  for (const auto& m : all)
    if (m.topic.find("/device_automation/") != std::string::npos) out.push_back(m);
  return out;
}

press::Sighting sighting(press::Source source, const char* mac, const char* ip) {
  press::Sighting s;
  s.source = source;
  if (mac) s.mac = util::Mac::parse(mac);
  s.ip = *util::Ipv4::parse(ip);
  s.wall = sample_time();
  return s;
}

}  // namespace

TEST_CASE("a press is published non-retained under <prefix>/<button>/press") {
  config::Mqtt m;
  press::Press p;
  p.button = "bedroom";
  p.first = sighting(press::Source::dhcp, "68:54:FD:12:34:56", "10.77.0.201");
  p.number = 3;
  const auto msg = mqtt::press_message(m, p);
  CHECK(msg.topic == "dashctl/bedroom/press");
  CHECK(msg.payload ==
        R"({"button":"bedroom","mac":"68:54:fd:12:34:56","ip":"10.77.0.201","source":"dhcp",)"
        R"("time":"2026-11-22T03:04:05.123Z","count":3})");
  CHECK(msg.qos == 1);
  CHECK_FALSE(msg.retain);
}

TEST_CASE("a press without a known MAC has mac null, and follows the prefix and qos of [mqtt]") {
  config::Mqtt m;
  m.topic_prefix = "home/dash";
  m.qos = 0;
  press::Press p;
  p.button = "kitchen";
  p.first = sighting(press::Source::connect, nullptr, "10.77.0.202");
  p.first.wall = sys_days{year{2026} / January / 2};  // whole seconds still show milliseconds
  p.number = 1;
  const auto msg = mqtt::press_message(m, p);
  CHECK(msg == mqtt::Message{"home/dash/kitchen/press",
                             R"({"button":"kitchen","mac":null,"ip":"10.77.0.202","source":"connect",)"
                             R"("time":"2026-01-02T00:00:00.000Z","count":1})",
                             0, false});
}

TEST_CASE("an unknown device is published under <prefix>/unknown") {
  config::Mqtt m;
  const auto msg = mqtt::unknown_message(m, sighting(press::Source::nflog, "aa:bb:cc:dd:ee:ff", "10.77.0.99"));
  CHECK(msg == mqtt::Message{"dashctl/unknown",
                             R"({"mac":"aa:bb:cc:dd:ee:ff","ip":"10.77.0.99","source":"nflog",)"
                             R"("time":"2026-11-22T03:04:05.123Z"})",
                             1, false});
  const auto no_mac = mqtt::unknown_message(m, sighting(press::Source::connect, nullptr, "10.77.0.98"));
  CHECK(no_mac.payload ==
        R"({"mac":null,"ip":"10.77.0.98","source":"connect","time":"2026-11-22T03:04:05.123Z"})");
}

TEST_CASE("the availability topic is <prefix>/status") {
  config::Mqtt m;
  CHECK(mqtt::availability_topic(m) == "dashctl/status");
  m.topic_prefix = "a/b";
  CHECK(mqtt::availability_topic(m) == "a/b/status");
}

TEST_CASE("discovery publishes one retained device trigger per button") {
  const auto c = with_buttons({button("bedroom", "68:54:fd:12:34:56"), button("kitchen")});
  const auto msgs = triggers(mqtt::discovery_messages(c));
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[0] == mqtt::Message{
                       "homeassistant/device_automation/dashctl_bedroom/button_short_press/config",
                       R"({"automation_type":"trigger","topic":"dashctl/bedroom/press","type":"button_short_press",)"
                       R"("subtype":"button_1","device":{"identifiers":["dashctl_bedroom"],"name":"bedroom",)"
                       R"("connections":[["mac","68:54:fd:12:34:56"]],"manufacturer":"dashctl"},)"
                       R"("availability_topic":"dashctl/status"})",
                       1, true});
  // Without a MAC, no connections.
  CHECK(msgs[1] == mqtt::Message{
                       "homeassistant/device_automation/dashctl_kitchen/button_short_press/config",
                       R"({"automation_type":"trigger","topic":"dashctl/kitchen/press","type":"button_short_press",)"
                       R"("subtype":"button_1","device":{"identifiers":["dashctl_kitchen"],"name":"kitchen",)"
                       R"("manufacturer":"dashctl"},"availability_topic":"dashctl/status"})",
                       1, true});
}

TEST_CASE("discovery follows the prefixes, stays QoS 1, and is off with homeassistant = false or no [mqtt]") {
  auto c = with_buttons({button("hall")});
  c.mqtt->discovery_prefix = "ha";
  c.mqtt->topic_prefix = "dash";
  c.mqtt->qos = 0;
  const auto msgs = triggers(mqtt::discovery_messages(c));
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].topic == "ha/device_automation/dashctl_hall/button_short_press/config");
  CHECK(msgs[0].payload.find(R"("topic":"dash/hall/press")") != std::string::npos);
  CHECK(msgs[0].payload.find(R"("availability_topic":"dash/status")") != std::string::npos);
  CHECK(msgs[0].qos == 1);

  c.mqtt->homeassistant = false;
  CHECK(mqtt::discovery_messages(c).empty());
  c.mqtt.reset();
  CHECK(mqtt::discovery_messages(c).empty());
}

TEST_CASE("a button removed or renamed across a reload has its trigger removed") {
  const auto before = with_buttons({button("a"), button("b"), button("c")});
  const auto after = with_buttons({button("a"), button("c2"), button("b", "68:54:fd:12:34:56")});
  const auto removals = mqtt::discovery_removals(before, after);
  // c's trigger, its 4 sensors and its retained state.
  REQUIRE(removals.size() == 6);
  CHECK(removals[0] ==
        mqtt::Message{"homeassistant/device_automation/dashctl_c/button_short_press/config", "", 1, true});
  CHECK(removals[1] == mqtt::Message{"homeassistant/sensor/dashctl_c/battery/config", "", 1, true});
  CHECK(removals[4] == mqtt::Message{"homeassistant/sensor/dashctl_c/last_seen/config", "", 1, true});
  CHECK(removals[5] == mqtt::Message{"dashctl/c/state", "", 1, true});

  CHECK(mqtt::discovery_removals(before, before).empty());
  CHECK(mqtt::discovery_removals(with_buttons({}), before).empty());  // additions remove nothing
}

TEST_CASE("turning Home Assistant off, or moving its prefix, removes every trigger published before") {
  const auto before = with_buttons({button("a"), button("b")});
  auto off = before;
  off.mqtt->homeassistant = false;
  const auto removals = triggers(mqtt::discovery_removals(before, off));
  REQUIRE(removals.size() == 2);
  CHECK(removals[0].topic == "homeassistant/device_automation/dashctl_a/button_short_press/config");
  CHECK(removals[1].topic == "homeassistant/device_automation/dashctl_b/button_short_press/config");
  CHECK(removals[1].payload.empty());
  CHECK(removals[1].retain);
  CHECK(mqtt::discovery_removals(before, off).size() == 10);  // and 4 sensors each; the state stays

  auto moved = before;
  moved.mqtt->discovery_prefix = "ha";
  CHECK(mqtt::discovery_removals(before, moved).size() == 10);
  CHECK(mqtt::discovery_removals(off, before).empty());  // nothing was published
}

TEST_CASE("each button's sensors: battery, presses, last press, last seen, under its trigger's device") {
  const auto c = with_buttons({button("bedroom", "68:54:fd:12:34:56")});
  const auto msgs = mqtt::discovery_messages(c);
  REQUIRE(msgs.size() == 5);
  CHECK(msgs[1] == mqtt::Message{
                       "homeassistant/sensor/dashctl_bedroom/battery/config",
                       R"j({"name":"Battery (estimate)","unique_id":"dashctl_bedroom_battery",)j"
                       R"("state_topic":"dashctl/bedroom/state",)"
                       R"("value_template":"{{ value_json.battery if value_json.battery is not none else None }}",)"
                       R"("device_class":"battery","unit_of_measurement":"%","state_class":"measurement",)"
                       R"("entity_category":"diagnostic","device":{"identifiers":["dashctl_bedroom"],"name":"bedroom",)"
                       R"("connections":[["mac","68:54:fd:12:34:56"]],"manufacturer":"dashctl"},)"
                       R"("availability_topic":"dashctl/status"})",
                       1, true});
  CHECK(msgs[2].topic == "homeassistant/sensor/dashctl_bedroom/presses/config");
  CHECK(msgs[2].payload.find(R"("state_class":"total_increasing")") != std::string::npos);
  CHECK(msgs[3].topic == "homeassistant/sensor/dashctl_bedroom/last_press/config");
  CHECK(msgs[3].payload.find(R"("device_class":"timestamp")") != std::string::npos);
  CHECK(msgs[4].topic == "homeassistant/sensor/dashctl_bedroom/last_seen/config");
}

TEST_CASE("a button's state is retained JSON; the low-battery event is not") {
  config::Mqtt m;
  auto b = button("hall");
  history::Record r;
  CHECK(mqtt::state_message(m, b, r) ==
        mqtt::Message{"dashctl/hall/state",
                      R"({"presses":0,"last_press":null,"last_seen":null,"awake_s":0.0,"battery":100,)"
                      R"("battery_low":false,"battery_since":null})",
                      1, true});
  r.presses = 12;
  r.last_press = history::LastPress{sample_time(), {"ntp"}, *util::Ipv4::parse("10.77.0.203"), std::nullopt};
  r.last_seen = sample_time() + 1s;
  r.awake_ms = 6'540'049;
  r.battery.awake_ms = 6'540'049;  // of 7000 s: 6.6% left
  r.battery.since = sample_time() - 24h;
  CHECK(mqtt::state_message(m, b, r).payload ==
        R"({"presses":12,"last_press":"2026-11-22T03:04:05Z","last_seen":"2026-11-22T03:04:06Z","awake_s":6540.0,)"
        R"("battery":7,"battery_low":true,"battery_since":"2026-11-21T03:04:05Z"})");
  const auto low = mqtt::battery_low_message(m, b, r, sample_time());
  CHECK(low == mqtt::Message{"dashctl/hall/battery_low",
                             R"({"button":"hall","battery":7,"warning":25,"time":"2026-11-22T03:04:05Z"})", 1, false});
}
