// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A button's actions: exec and webhook, asynchronous on the daemon's event loop; mqtt, a
// publish; what an action's templates see of the press; and the Runner that starts them all
// (runner.h has the real one).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/model.h"
#include "press/press.h"
#include "util/net.h"

namespace boost::asio {
class io_context;
}

namespace dashctl::actions {

/// Renders a template with the press's values: {button}, {mac} ("" when unknown), {ip},
/// {source} (connect, dhcp, nflog, ntp or test), {count} (the button's presses since the daemon
/// started), {time} (ISO 8601 UTC with milliseconds, e.g. 2026-11-22T03:04:05.123Z).
std::string render(std::string_view tmpl, const press::Press& p);

/// How an action ended, for the log and the counters.
struct Outcome {
  bool ok = false;
  std::string summary;  ///< "exit 0", "killed after 30s timeout", "HTTP 200", "connect: Connection refused"
  std::chrono::milliseconds took{0};
};
using Done = std::function<void(const Outcome&)>;

/// Runs the program: argv rendered, never a shell, with DASHCTL_BUTTON, DASHCTL_MAC,
/// DASHCTL_IP, DASHCTL_SOURCE, DASHCTL_COUNT (and PATH, HOME, LANG... of the daemon's own
/// environment) in its environment, stdin on /dev/null, its stdout and stderr logged line by
/// line ("exec[<button>]: <line>", bounded per run). After the timeout: SIGTERM, and SIGKILL
/// 2 s later, to its process group. Never blocks the loop. `done` runs on the loop.
void run_exec(boost::asio::io_context& io, const config::ExecAction& a, const press::Press& p, Done done);

/// Sends the request (Boost.Beast; https verifies the server against the system's CAs
/// and its host name), with the rendered URL, headers and body, and the action's timeout
/// for the whole exchange. A status outside 2xx is a failure. `done` runs on the loop.
void run_webhook(boost::asio::io_context& io, const config::WebhookAction& a, const press::Press& p, Done done);

/// Starts every action of a button for a press: the press pipeline's view of runner.h's
/// ActionRunner, which unit tests replace with a fake.
class Runner {
 public:
  virtual ~Runner() = default;
  /// Starts `button`'s actions, in the config's order, for `press`; never blocks. `config`
  /// gives the MQTT defaults (an mqtt action without [mqtt] is skipped: validation refuses it).
  virtual void run(const config::Config& config, const config::Button& button, const press::Press& press) = 0;
};

}  // namespace dashctl::actions
