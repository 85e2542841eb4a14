// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// `dashctl run`: one Boost.Asio event loop with the listener, the press tracker, the actions,
// the MQTT client, signals and the control socket. Runs as an ordinary user.

#include <string>
#include <vector>

#include "config/model.h"

namespace dashctl::daemon {

/// Runs in the foreground until SIGTERM or SIGINT; returns the exit code. Reloads the
/// config on SIGHUP, keeping the old one when the new one is invalid. Throws util::Error
/// when it cannot start (the listener's address in use, the control socket taken).
int run(const std::string& config_path);

/// Fires a button's actions once, without a press (`dashctl button test`), and waits for
/// them (bounded). Returns one line per action, "mqtt topic: ok" and so on; `ok` is false
/// when any failed.
std::vector<std::string> test_button(const config::Config& config, const std::string& name, bool& ok);

}  // namespace dashctl::daemon
