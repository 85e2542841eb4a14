// SPDX-License-Identifier: GPL-2.0-or-later
// The ActionRunner: every kind of action of a button, for a press and for `button test`
// alike, started in the config's order; mqtt actions go to the publisher it is given.

#include "support/catch.h"

#include <boost/asio/io_context.hpp>

#include "actions/runner.h"
#include "support.h"

using namespace dashctl;
using namespace std::chrono_literals;

namespace {

struct FakePublisher : mqtt::Publisher {
  std::vector<mqtt::Message> messages;
  void publish(const mqtt::Message& m) override { messages.push_back(m); }
};

struct Report {
  std::string button, kind;
  actions::Outcome outcome;
};

config::Config with_mqtt(int qos) {
  config::Config c;
  c.mqtt.emplace();
  c.mqtt->qos = qos;
  return c;
}

}  // namespace

TEST_CASE("runner: mqtt actions are rendered and published, exec actions run and report") {
  boost::asio::io_context io;
  FakePublisher mqtt;
  std::vector<Report> reports;
  actions::ActionRunner runner(io, mqtt, [&](const std::string& b, std::string_view kind, const actions::Outcome& o) {
    reports.push_back({b, std::string(kind), o});
  });
  config::Button b;
  b.name = "bedroom";
  b.on_press.push_back(config::MqttAction{"light/{button}", "{mac}#{count}", std::nullopt, false});
  b.on_press.push_back(config::ExecAction{{"/bin/sh", "-c", "exit 3"}, 10s});
  b.on_press.push_back(config::MqttAction{"raw", "{source}", 0, true});
  const auto c = with_mqtt(2);

  runner.run(c, b, test::press_event());
  REQUIRE(mqtt.messages.size() == 2);
  CHECK(mqtt.messages[0] == mqtt::Message{"light/bedroom", "68:54:fd:12:34:56#42", 2, false});
  CHECK(mqtt.messages[1] == mqtt::Message{"raw", "dhcp", 0, true});
  CHECK(runner.running() == 1);  // the program
  REQUIRE(reports.size() == 2);  // the publishes, at once
  CHECK(reports[0].kind == "mqtt");
  CHECK(reports[0].outcome.summary == "light/bedroom");
  CHECK(reports[1].outcome.summary == "raw");

  CHECK(test::run_until(io, [&] { return runner.running() == 0; }, 15s));
  REQUIRE(reports.size() == 3);
  CHECK(reports[2].button == "bedroom");
  CHECK(reports[2].kind == "exec");
  CHECK_FALSE(reports[2].outcome.ok);
  CHECK(reports[2].outcome.summary == "exit 3");
  CHECK(test::no_children());
}

TEST_CASE("runner: without [mqtt] the mqtt actions are skipped, the others run") {
  boost::asio::io_context io;
  FakePublisher mqtt;
  int reports = 0;
  actions::ActionRunner runner(io, mqtt, [&](const std::string&, std::string_view, const actions::Outcome&) {
    ++reports;
  });
  config::Button b;
  b.name = "bedroom";
  b.on_press.push_back(config::MqttAction{"light", "x", std::nullopt, false});
  b.on_press.push_back(config::ExecAction{{"/bin/true"}, 10s});
  runner.run(config::Config{}, b, test::press_event());
  CHECK(mqtt.messages.empty());
  CHECK(test::run_until(io, [&] { return runner.running() == 0; }, 15s));
  CHECK(reports == 1);
}
