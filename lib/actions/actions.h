#pragma once
// The exec and webhook actions, asynchronous on the daemon's event loop; and the values an
// action's templates see. (MQTT actions are publishes: see mqtt/client.h.)

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/model.h"
#include "util/net.h"

namespace boost::asio {
class io_context;
}

namespace dashctl::actions {

/// What a press gives an action's templates and environment.
struct Event {
  std::string button;
  std::optional<util::Mac> mac;
  util::Ipv4 ip;
  std::string source;  ///< what revealed the press: connect, dhcp, nflog or test
  std::chrono::system_clock::time_point time;
  uint64_t count = 0;  ///< the button's presses since the daemon started
};

/// Renders a template: {button}, {mac} ("" when unknown), {ip}, {source}, {count},
/// {time} (ISO 8601 UTC with milliseconds, e.g. 2026-11-22T03:04:05.123Z).
std::string render(std::string_view tmpl, const Event& e);

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
void run_exec(boost::asio::io_context& io, const config::ExecAction& a, const Event& e, Done done);

/// Sends the request (Boost.Beast; https verifies the server against the system's CAs
/// and its host name), with the rendered URL, headers and body, and the action's timeout
/// for the whole exchange. A status outside 2xx is a failure. `done` runs on the loop.
void run_webhook(boost::asio::io_context& io, const config::WebhookAction& a, const Event& e, Done done);

}  // namespace dashctl::actions
