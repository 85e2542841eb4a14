// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The daemon's MQTT client as the config describes it, for `run` and for `button test`.

#include <memory>

#include "config/model.h"
#include "mqtt/client.h"
#include "mqtt/topics.h"

namespace dashctl::daemon {

/// The client's options from the config's [mqtt], which must be there: the broker, the
/// credentials, the availability topic, the offline queue's bound, and the client id (the
/// config's, else one unique to this host and config file).
mqtt::Options mqtt_options(const config::Config& c);

/// The MQTT client while there is one: none without [mqtt], a new one after a reload that
/// changed the broker. What is published meanwhile is dropped (nothing is configured to
/// take it).
class MqttLink final : public mqtt::Publisher {
 public:
  void publish(const mqtt::Message& m) override {
    if (client) client->publish(m);
  }
  std::unique_ptr<mqtt::Client> client;
};

}  // namespace dashctl::daemon
