// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/reload.h"

namespace dashctl::daemon {

bool same_broker(const config::Mqtt& a, const config::Mqtt& b) {
  return a.url == b.url && a.client_id == b.client_id && a.username == b.username && a.password == b.password &&
         a.topic_prefix == b.topic_prefix && a.queue_limit == b.queue_limit && a.homeassistant == b.homeassistant &&
         a.discovery_prefix == b.discovery_prefix;
}

ReloadPlan plan_reload(const config::Config& current, config::Checked checked) {
  ReloadPlan plan;
  if (!checked.problems.empty()) {
    for (const auto& p : checked.problems) plan.errors.push_back(p.str());
    return plan;
  }
  for (const auto& w : checked.warnings) plan.warnings.push_back(w.str());
  auto next = std::move(checked.config);
  if (next.daemon.control_socket != current.daemon.control_socket) {
    plan.warnings.push_back("daemon.control_socket changes at the next start; it stays " +
                            current.daemon.control_socket);
    next.daemon.control_socket = current.daemon.control_socket;
  }
  plan.broker_changed = current.mqtt.has_value() != next.mqtt.has_value() ||
                        (current.mqtt && next.mqtt && !same_broker(*current.mqtt, *next.mqtt));
  plan.next = std::move(next);
  return plan;
}

}  // namespace dashctl::daemon
