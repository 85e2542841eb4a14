// SPDX-License-Identifier: GPL-2.0-or-later
// The press pipeline with fakes for everything around it (as ninja tests its builder with a
// fake command runner): the neighbour table and lease file behind the Identifier, the
// action runner, the MQTT publisher and the clock. Every source and every identity case.

#include "support/catch.h"

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/parse.h"
#include "daemon/pipeline.h"

using namespace dashctl;
using namespace std::chrono_literals;

namespace {

const std::string kConfig = R"(
[network]
iot_interface = "br-iot"
listen_address = "10.77.0.1"
[mqtt]
url = "mqtt://10.77.0.1"
[[button]]
name = "bedroom"
mac = "68:54:fd:12:34:56"
ip = "10.77.0.201"
window = "10s"
on_press = [ { mqtt = { topic = "light/{button}", payload = "{mac} {ip} {source} {count}" } } ]
[[button]]
name = "kitchen"
mac = "50:f5:da:00:00:09"
[[button]]
name = "hall"
ip = "10.77.0.203"
)";

config::Config parse(const std::string& text) {
  config::Config c;
  c.path = "t.toml";
  std::vector<config::Diagnostic> problems;
  config::parse_main(text, "t.toml", c, problems);
  if (problems.empty()) config::validate(c, problems);
  for (const auto& p : problems) INFO(p.str());
  REQUIRE(problems.empty());
  return c;
}

util::Ipv4 ip(std::string_view s) { return *util::Ipv4::parse(s); }
util::Mac mac(std::string_view s) { return *util::Mac::parse(s); }

/// Records what the pipeline asked to run; renders each mqtt action as the real runner does.
struct FakeRunner : actions::Runner {
  struct Run {
    std::string button;
    press::Press press;
    std::vector<std::string> rendered;  ///< "topic payload" of each mqtt action
  };
  std::vector<Run> runs;
  void run(const config::Config&, const config::Button& b, const press::Press& p) override {
    Run r{b.name, p, {}};
    for (const auto& a : b.on_press)
      if (const auto* m = std::get_if<config::MqttAction>(&a))
        r.rendered.push_back(actions::render(m->topic, p) + " " + actions::render(m->payload, p));
    runs.push_back(std::move(r));
  }
};

struct FakePublisher : mqtt::Publisher {
  std::vector<mqtt::Message> messages;
  void publish(const mqtt::Message& m) override { messages.push_back(m); }
};

/// The pipeline and its fakes. Sightings carry their own monotonic time, so the tracker's
/// windows are decided by the test, never by this machine's speed.
struct World {
  config::Config config = parse(kConfig);
  std::map<util::Ipv4, util::Mac> neighbours;
  press::Identifier identifier{[this](util::Ipv4 a, const std::string&) -> std::optional<util::Mac> {
                                 const auto it = neighbours.find(a);
                                 if (it == neighbours.end()) return std::nullopt;
                                 return it->second;
                               },
                               nullptr};
  press::Tracker tracker;
  history::Book book;
  FakeRunner runner;
  FakePublisher mqtt;
  press::Clock::time_point clock{};
  daemon::PressPipeline pipeline{config, identifier, tracker, book, runner, mqtt, [this] { return clock + 3ms; }};

  press::Sighting sighting(press::Source source, std::string_view from, std::optional<std::string_view> m,
                           std::chrono::milliseconds at) {
    press::Sighting s;
    s.source = source;
    s.ip = ip(from);
    if (m) s.mac = mac(*m);
    s.time = press::Clock::time_point{} + at;
    s.wall = std::chrono::system_clock::time_point{} + 24h * 365 * 56 + at;
    s.detail = "test";
    clock = s.time;
    return s;
  }

  /// The messages on one topic, parsed.
  std::vector<nlohmann::json> on(const std::string& topic) const {
    std::vector<nlohmann::json> out;
    for (const auto& m : mqtt.messages)
      if (m.topic == topic) out.push_back(nlohmann::json::parse(m.payload));
    return out;
  }
};

}  // namespace

TEST_CASE("pipeline: connect, matched by its static address, fires with the configured MAC everywhere") {
  World w;  // no neighbour entry, no lease file: the address is all there is
  w.pipeline.on_sighting(w.sighting(press::Source::connect, "10.77.0.201", std::nullopt, 0ms));
  REQUIRE(w.runner.runs.size() == 1);
  const auto& run = w.runner.runs[0];
  CHECK(run.button == "bedroom");
  CHECK(run.press.first.mac == mac("68:54:fd:12:34:56"));
  CHECK(run.rendered == std::vector<std::string>{"light/bedroom 68:54:fd:12:34:56 10.77.0.201 connect 1"});
  // The press message says the same MAC (it said null before the pipeline).
  const auto press = w.on("dashctl/bedroom/press");
  REQUIRE(press.size() == 1);
  CHECK(press[0]["mac"] == "68:54:fd:12:34:56");
  CHECK(press[0]["ip"] == "10.77.0.201");
  CHECK(press[0]["source"] == "connect");
  CHECK(press[0]["count"] == 1);
  // And so does the tracker, which status reads.
  CHECK(w.tracker.buttons().at("bedroom").last_press->mac == mac("68:54:fd:12:34:56"));
  CHECK(w.pipeline.counters().presses == 1);
  CHECK(w.pipeline.press_to_action().count() == 1);
  CHECK(w.pipeline.press_to_action().max() == 3ms);
}

TEST_CASE("pipeline: connect, matched by the MAC the neighbour table has") {
  World w;
  w.neighbours[ip("10.77.0.150")] = mac("50:f5:da:00:00:09");
  w.pipeline.on_sighting(w.sighting(press::Source::connect, "10.77.0.150", std::nullopt, 0ms));
  REQUIRE(w.runner.runs.size() == 1);
  CHECK(w.runner.runs[0].button == "kitchen");
  CHECK(w.runner.runs[0].press.first.ip == ip("10.77.0.150"));
  const auto press = w.on("dashctl/kitchen/press");
  REQUIRE(press.size() == 1);
  CHECK(press[0]["mac"] == "50:f5:da:00:00:09");
}

TEST_CASE("pipeline: a dhcp event starts the press, and the other sources join it") {
  World w;
  w.pipeline.on_sighting(w.sighting(press::Source::dhcp, "10.77.0.201", "68:54:fd:12:34:56", 0ms));
  w.pipeline.on_sighting(w.sighting(press::Source::nflog, "10.77.0.201", "68:54:fd:12:34:56", 40ms));
  w.pipeline.on_sighting(w.sighting(press::Source::connect, "10.77.0.201", std::nullopt, 500ms));
  w.pipeline.on_sighting(w.sighting(press::Source::connect, "10.77.0.201", std::nullopt, 9'999ms));
  REQUIRE(w.runner.runs.size() == 1);
  CHECK(w.runner.runs[0].press.first.source == press::Source::dhcp);
  CHECK(w.on("dashctl/bedroom/press").size() == 1);
  const auto& state = w.tracker.buttons().at("bedroom");
  CHECK(state.sightings == 4);
  CHECK(state.press_sources ==
        std::vector<press::Source>{press::Source::dhcp, press::Source::nflog, press::Source::connect});
  CHECK(w.pipeline.counters().sightings == 4);
  CHECK(w.pipeline.counters().presses == 1);

  // The window runs from the press's first sighting: the next one starts press 2.
  w.pipeline.on_sighting(w.sighting(press::Source::connect, "10.77.0.201", std::nullopt, 10'000ms));
  REQUIRE(w.runner.runs.size() == 2);
  CHECK(w.runner.runs[1].press.number == 2);
  CHECK(w.runner.runs[1].rendered == std::vector<std::string>{"light/bedroom 68:54:fd:12:34:56 10.77.0.201 connect 2"});
}

TEST_CASE("pipeline: an nflog DHCP request from 0.0.0.0 carries the button's static address") {
  World w;
  w.pipeline.on_sighting(w.sighting(press::Source::nflog, "0.0.0.0", "68:54:fd:12:34:56", 0ms));
  REQUIRE(w.runner.runs.size() == 1);
  CHECK(w.runner.runs[0].press.first.ip == ip("10.77.0.201"));
  CHECK(w.runner.runs[0].rendered == std::vector<std::string>{"light/bedroom 68:54:fd:12:34:56 10.77.0.201 nflog 1"});
  CHECK(w.on("dashctl/bedroom/press").at(0)["ip"] == "10.77.0.201");

  // A button without a static address keeps 0.0.0.0: nothing better is known.
  w.pipeline.on_sighting(w.sighting(press::Source::nflog, "0.0.0.0", "50:f5:da:00:00:09", 0ms));
  REQUIRE(w.runner.runs.size() == 2);
  CHECK(w.runner.runs[1].button == "kitchen");
  CHECK(w.runner.runs[1].press.first.ip == ip("0.0.0.0"));
}

TEST_CASE("pipeline: a MAC that contradicts the static address is an unknown device, reported once a window") {
  World w;
  // Another device took bedroom's address; the neighbour table shows its own MAC.
  w.neighbours[ip("10.77.0.201")] = mac("02:00:00:00:00:66");
  w.pipeline.on_sighting(w.sighting(press::Source::connect, "10.77.0.201", std::nullopt, 0ms));
  w.pipeline.on_sighting(w.sighting(press::Source::connect, "10.77.0.201", std::nullopt, 5'000ms));
  CHECK(w.runner.runs.empty());
  CHECK(w.on("dashctl/bedroom/press").empty());
  auto unknown = w.on("dashctl/unknown");
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0]["mac"] == "02:00:00:00:00:66");
  CHECK(unknown[0]["ip"] == "10.77.0.201");
  CHECK(w.pipeline.counters().unknown == 1);
  CHECK(w.pipeline.counters().presses == 0);
  // After the window, reported again.
  w.pipeline.on_sighting(w.sighting(press::Source::connect, "10.77.0.201", std::nullopt, 10'000ms));
  CHECK(w.on("dashctl/unknown").size() == 2);
  CHECK(w.tracker.buttons().empty());
  // The dhcp source gives the MAC itself: the same verdict.
  w.pipeline.on_sighting(w.sighting(press::Source::dhcp, "10.77.0.203", "02:00:00:00:00:77", 0ms));
  CHECK(w.runner.runs.size() == 1);  // hall has no MAC in the config: its address names it
  CHECK(w.runner.runs[0].button == "hall");
  CHECK(w.runner.runs[0].press.first.mac == mac("02:00:00:00:00:77"));
}

TEST_CASE("pipeline: an unknown device without a MAC is reported by its address") {
  World w;
  w.pipeline.on_sighting(w.sighting(press::Source::connect, "10.77.0.99", std::nullopt, 0ms));
  CHECK(w.runner.runs.empty());
  const auto unknown = w.on("dashctl/unknown");
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0]["mac"].is_null());
  CHECK(unknown[0]["source"] == "connect");
  const auto devices = w.tracker.unknown_devices();
  REQUIRE(devices.size() == 1);
  CHECK(devices[0].ip == ip("10.77.0.99"));
}

TEST_CASE("pipeline: without [mqtt] the actions run and nothing is published") {
  World w;
  w.config.mqtt.reset();
  w.config.buttons[0].on_press.clear();
  w.pipeline.on_sighting(w.sighting(press::Source::dhcp, "10.77.0.201", "68:54:fd:12:34:56", 0ms));
  w.pipeline.on_sighting(w.sighting(press::Source::connect, "10.77.0.99", std::nullopt, 0ms));
  CHECK(w.runner.runs.size() == 1);
  CHECK(w.mqtt.messages.empty());
  CHECK(w.pipeline.counters().unknown == 1);
}

TEST_CASE("pipeline: a reloaded config is the one identified against") {
  World w;
  auto next = w.config;
  next.buttons.erase(next.buttons.begin());  // bedroom removed
  w.pipeline.set_config(next);
  w.pipeline.on_sighting(w.sighting(press::Source::dhcp, "10.77.0.201", "68:54:fd:12:34:56", 0ms));
  CHECK(w.runner.runs.empty());
  CHECK(w.on("dashctl/unknown").size() == 1);
}

TEST_CASE("pipeline: each known sighting goes into the button's history, unknown devices' do not") {
  World w;
  w.pipeline.on_sighting(w.sighting(press::Source::ntp, "10.77.0.201", std::nullopt, 0ms));
  w.pipeline.on_sighting(w.sighting(press::Source::connect, "10.77.0.201", std::nullopt, 700ms));
  w.pipeline.on_sighting(w.sighting(press::Source::connect, "10.77.0.99", std::nullopt, 800ms));
  const auto* r = w.book.find("bedroom");
  REQUIRE(r);
  CHECK(r->presses == 1);
  CHECK(r->awake_ms == 700 + history::kAwakeAllowance.count());
  REQUIRE(r->last_press);
  CHECK(r->last_press->sources == std::vector<std::string>{"ntp", "connect"});
  CHECK(w.book.records().size() == 1);
  CHECK(w.on("dashctl/bedroom/battery_low").empty());
}

TEST_CASE("pipeline: the battery warning is logged and published once, when the estimate falls to it") {
  World w;
  // A tiny battery: 60 s of awake time, a warning at 50%: 15 presses of 2 s (allowance) + 0 s.
  w.config.buttons[0].battery_capacity = 60s;
  w.config.buttons[0].battery_warning = 50;
  for (int i = 0; i < 30; ++i) {
    INFO(i);
    w.pipeline.on_sighting(w.sighting(press::Source::connect, "10.77.0.201", std::nullopt, i * 20s));
    const auto low = w.on("dashctl/bedroom/battery_low");
    // 2 s a press: the 15th takes it to 50%.
    CHECK(low.size() == (i + 1 >= 15 ? 1u : 0u));
  }
  const auto low = w.on("dashctl/bedroom/battery_low");
  REQUIRE(low.size() == 1);
  CHECK(low[0]["button"] == "bedroom");
  CHECK(low[0]["battery"] == 50);
  CHECK(low[0]["warning"] == 50);
  // A new battery: warned again when this one falls to it.
  w.book.replace_battery(w.config.buttons[0], std::chrono::system_clock::now(), 100);
  for (int i = 30; i < 45; ++i) w.pipeline.on_sighting(w.sighting(press::Source::connect, "10.77.0.201", std::nullopt, i * 20s));
  CHECK(w.on("dashctl/bedroom/battery_low").size() == 2);
}

TEST_CASE("pipeline: a storm of unknown devices is 20 reports a window and one summary, memory bounded") {
  World w;
  for (int i = 0; i < 20000; ++i) {
    char m[18];
    std::snprintf(m, sizeof m, "02:00:00:%02x:%02x:%02x", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
    // All within one window (1 ms apart would be 20 s: 100 us apart is 2 s).
    w.pipeline.on_sighting(w.sighting(press::Source::dhcp, "10.77.0.99", std::string_view(m),
                                      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::microseconds(i * 100))));
  }
  CHECK(w.on("dashctl/unknown").size() == daemon::PressPipeline::kUnknownReports);
  CHECK(w.pipeline.counters().unknown == daemon::PressPipeline::kUnknownReports);
  CHECK(w.pipeline.counters().unknown_suppressed == 20000 - daemon::PressPipeline::kUnknownReports);
  CHECK(w.on("dashctl/unknown/summary").empty());  // the window is not over
  CHECK(w.tracker.unknown_devices().size() == press::Tracker::max_unknown_devices);
  w.pipeline.tick(press::Clock::time_point{} + 9s);
  CHECK(w.on("dashctl/unknown/summary").empty());
  w.pipeline.tick(press::Clock::time_point{} + 10s);
  const auto summary = w.on("dashctl/unknown/summary");
  REQUIRE(summary.size() == 1);
  CHECK(summary[0]["held_back"] == 20000 - daemon::PressPipeline::kUnknownReports);
  CHECK(summary[0]["window_s"] == 10);
  w.pipeline.tick(press::Clock::time_point{} + 25s);  // a quiet window: nothing to say
  CHECK(w.on("dashctl/unknown/summary").size() == 1);
  // The next window reports again.
  w.pipeline.on_sighting(w.sighting(press::Source::dhcp, "10.77.0.98", "02:00:01:00:00:01", 30s));
  CHECK(w.on("dashctl/unknown").size() == daemon::PressPipeline::kUnknownReports + 1);
}
