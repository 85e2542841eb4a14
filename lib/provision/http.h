// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The HTTP side of `dashctl provision`: a GET to the button's setup access point, one
// request per connection, every step bounded in time. (Beast, in http.cpp only.)

#include <chrono>
#include <cstdint>
#include <string>

namespace dashctl::provision {

/// Where the button is, and how long any one step (connect, send, answer) may take.
struct Endpoint {
  std::string address = "192.168.0.1";  ///< IPv4
  uint16_t port = 80;
  std::string interface;  ///< non-empty: the connection leaves through this interface only
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
};

struct Response {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

/// GET `target`. `want_json` adds the header that makes the button answer in JSON
/// (`Content-Type: application/json`, with `Accept` to match). Throws util::Error:
/// Exit::unavailable when it cannot connect or no answer comes in time (the message says
/// which, without the address), Exit::protocol when the answer is not HTTP or is larger than
/// kMaxPage.
Response get(const Endpoint& e, const std::string& target, bool want_json);

/// How the button took the provisioning request.
struct Delivery {
  bool answered = false;  ///< true: an HTTP answer came, with `status`
  unsigned status = 0;
  std::string how;  ///< when not answered: "closed the connection", "reset the connection", "went silent"
};

/// Sends GET `target` and waits up to `wait` for an answer. A button that takes its settings
/// leaves setup mode at once, so a connection closed, reset or silent after the request
/// went out is an outcome (Delivery::answered false), not an error. Throws util::Error
/// (Exit::unavailable) when it cannot connect or send.
Delivery deliver(const Endpoint& e, const std::string& target, std::chrono::milliseconds wait);

}  // namespace dashctl::provision
