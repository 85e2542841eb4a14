// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/mqtt_link.h"

namespace dashctl::daemon {

mqtt::Options mqtt_options(const config::Config& c) {
  const config::Mqtt& m = *c.mqtt;
  mqtt::Options o;
  o.host = m.host;
  o.port = m.port;
  o.tls = m.tls;
  o.client_id = m.client_id.empty() ? config::default_client_id(c.path) : m.client_id;
  o.username = m.username;
  o.password = m.password;
  o.availability_topic = mqtt::availability_topic(m);
  o.queue_limit = m.queue_limit;
  return o;
}

}  // namespace dashctl::daemon
