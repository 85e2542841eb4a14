// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// What a SIGHUP does with a freshly read config, as a pure decision: take it or keep the
// one in use, and what must be restarted. The daemon carries it out.

#include <optional>
#include <string>
#include <vector>

#include "config/load.h"

namespace dashctl::daemon {

struct ReloadPlan {
  std::optional<config::Config> next;  ///< nullopt: keep serving with the config in use
  std::vector<std::string> errors;     ///< why the new config was refused, one line each
  std::vector<std::string> warnings;   ///< the config's warnings; what changes only at the next start
  bool broker_changed = false;         ///< the MQTT client must be made anew
};

/// Decides a reload: a config with problems is refused whole; the control socket stays
/// where it is (clients look for it there); the MQTT client is kept unless its connection,
/// topics or Home Assistant settings changed.
ReloadPlan plan_reload(const config::Config& current, config::Checked checked);

/// Whether a reload can keep the MQTT client (its connection, subscriptions and queue).
bool same_broker(const config::Mqtt& a, const config::Mqtt& b);

}  // namespace dashctl::daemon
