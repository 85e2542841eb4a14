// SPDX-License-Identifier: GPL-2.0-or-later
// `dashctl button test`: a button's actions, fired once the way the daemon fires them, and
// waited for (bounded).
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "actions/runner.h"
#include "daemon/daemon.h"
#include "daemon/mqtt_link.h"
#include "mqtt/client.h"
#include "mqtt/topics.h"
#include "press/press.h"
#include "util/error.h"

namespace dashctl::daemon {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using util::Error;
using util::Exit;

std::vector<std::string> test_button(const config::Config& c, const std::string& name, bool& ok) {
  const auto* b = c.find_button(name);
  if (!b) throw Error(Exit::data, "no button '" + name + "'");
  asio::io_context io;
  MqttLink link;
  std::vector<std::string> lines, mqtt_topics;
  size_t mqtt_messages = 0;
  ok = true;
  actions::ActionRunner runner(io, link, [&](const std::string&, std::string_view kind, const actions::Outcome& o) {
    if (kind == "mqtt") {
      ++mqtt_messages;
      mqtt_topics.push_back(o.summary);
      return;
    }
    ok = ok && o.ok;
    lines.push_back(std::string(kind) + ": " + (o.ok ? "" : "failed: ") + o.summary);
  });
  // The press a test makes: the button as the config knows it.
  press::Press p;
  p.button = b->name;
  p.first.source = press::Source::test;
  p.first.mac = b->mac;
  p.first.ip = b->ip.value_or(util::Ipv4{});
  p.first.time = press::Clock::now();
  p.first.wall = std::chrono::system_clock::now();
  if (c.mqtt) {
    // Its own client id and no availability topic: the running daemon keeps its session,
    // and nobody is told the daemon went offline.
    auto options = mqtt_options(c);
    options.client_id = (c.mqtt->client_id.empty() ? "dashctl" : c.mqtt->client_id) + "-test-" + std::to_string(::getpid());
    options.availability_topic.clear();
    link.client = std::make_unique<mqtt::Client>(io, options);
    link.client->start();
    link.publish(mqtt::press_message(*c.mqtt, p));
    ++mqtt_messages;
  }
  runner.run(c, *b, p);
  // Bounded: the longest action timeout, and a few seconds for the broker.
  const auto deadline = std::chrono::steady_clock::now() + 70s;
  const auto broker_deadline = std::chrono::steady_clock::now() + 5s;
  auto& client = link.client;
  while (std::chrono::steady_clock::now() < deadline) {
    const bool broker_done = !client || (client->stats().connected && client->stats().queued == 0) ||
                             std::chrono::steady_clock::now() >= broker_deadline;
    if (runner.running() == 0 && broker_done) break;
    io.run_for(20ms);
  }
  if (const size_t pending = runner.running()) {
    ok = false;
    lines.push_back(std::to_string(pending) + " action(s) still running after 70 s: not waited for");
  }
  if (client) {
    client->stop(2s);
    const auto s = client->stats();
    const bool delivered = s.published >= mqtt_messages;
    for (const auto& t : mqtt_topics) lines.push_back("mqtt " + t + ": " + (delivered ? "delivered" : "not delivered"));
    if (!delivered) {
      ok = false;
      lines.push_back("mqtt: " + std::to_string(mqtt_messages - s.published) + " of " + std::to_string(mqtt_messages) +
                      " messages not delivered (is the broker at " + c.mqtt->url + " reachable?)");
    }
  }
  return lines;
}

}  // namespace dashctl::daemon
