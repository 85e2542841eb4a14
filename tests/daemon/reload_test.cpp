// SPDX-License-Identifier: GPL-2.0-or-later
// The reload decision: a bad config is refused whole, the control socket stays, and the
// MQTT client is made anew only when its connection or topics change.

#include "support/catch.h"

#include "config/parse.h"
#include "daemon/reload.h"

using namespace dashctl;

namespace {

const std::string kBase =
    "[network]\niot_interface = \"br-iot\"\nlisten_address = \"10.77.0.1\"\n"
    "[mqtt]\nurl = \"mqtt://10.77.0.1\"\n"
    "[[button]]\nname = \"hall\"\nip = \"10.77.0.5\"\n";

config::Checked checked(const std::string& text) {
  config::Checked c;
  c.config.path = "t.toml";
  config::parse_main(text, "t.toml", c.config, c.problems);
  if (c.problems.empty()) config::validate(c.config, c.problems);
  return c;
}

config::Config current() {
  auto c = checked(kBase);
  REQUIRE(c.problems.empty());
  return c.config;
}

}  // namespace

TEST_CASE("a config with problems is refused whole, every problem said") {
  const auto plan = daemon::plan_reload(current(), checked(kBase + "bogus = 1\nwindw = 2\n"));
  CHECK_FALSE(plan.next);
  REQUIRE(plan.errors.size() == 2);
  CHECK(plan.errors[0].rfind("t.toml:9:1: unknown key 'bogus'", 0) == 0);
  CHECK(plan.errors[1].rfind("t.toml:10:1: unknown key 'windw'", 0) == 0);
}

TEST_CASE("a good config is taken, buttons and all") {
  const auto plan = daemon::plan_reload(current(), checked(kBase + "[[button]]\nname = \"door\"\nip = \"10.77.0.6\"\n"));
  REQUIRE(plan.next);
  CHECK(plan.errors.empty());
  CHECK(plan.next->buttons.size() == 2);
  CHECK_FALSE(plan.broker_changed);
}

TEST_CASE("the control socket stays where clients look for it") {
  auto now = current();
  now.daemon.control_socket = "/run/dashctl/control.sock";
  const auto plan = daemon::plan_reload(now, checked(kBase + "[daemon]\ncontrol_socket = \"/tmp/other.sock\"\n"));
  REQUIRE(plan.next);
  CHECK(plan.next->daemon.control_socket == "/run/dashctl/control.sock");
  REQUIRE(plan.warnings.size() == 1);
  CHECK(plan.warnings[0].find("changes at the next start") != std::string::npos);
}

TEST_CASE("the MQTT client is made anew only when its broker or topics change") {
  auto replace = [](std::string text, const std::string& from, const std::string& to) {
    return text.replace(text.find(from), from.size(), to);
  };
  CHECK(daemon::plan_reload(current(), checked(replace(kBase, "mqtt://10.77.0.1", "mqtt://10.77.0.2"))).broker_changed);
  CHECK(daemon::plan_reload(current(), checked(replace(kBase, "[mqtt]\n", "[mqtt]\nhomeassistant = false\n"))).broker_changed);
  CHECK(daemon::plan_reload(current(), checked(replace(kBase, "[mqtt]\n", "[mqtt]\ntopic_prefix = \"x\"\n"))).broker_changed);
  CHECK(daemon::plan_reload(current(), checked(replace(kBase, "[mqtt]\nurl = \"mqtt://10.77.0.1\"\n", ""))).broker_changed);
  CHECK_FALSE(daemon::plan_reload(current(), checked(replace(kBase, "10.77.0.5", "10.77.0.7"))).broker_changed);
}
