// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The one place a button's actions are started, for a press (`dashctl run`) and for
// `dashctl button test` alike: mqtt actions are published, exec and webhook actions run on
// the event loop and report how they ended.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "actions/actions.h"
#include "mqtt/topics.h"

namespace dashctl::actions {

class ActionRunner final : public Runner {
 public:
  /// Called on the loop for every action: an exec or webhook action when it has ended; an
  /// mqtt action at once, with Outcome::summary the rendered topic (published or queued).
  using Report = std::function<void(const std::string& button, std::string_view kind, const Outcome& outcome)>;

  ActionRunner(boost::asio::io_context& io, mqtt::Publisher& mqtt, Report report);

  void run(const config::Config& config, const config::Button& button, const press::Press& press) override;

  /// Exec and webhook actions started and not yet ended.
  size_t running() const { return running_; }

 private:
  boost::asio::io_context& io_;
  mqtt::Publisher& mqtt_;
  Report report_;
  size_t running_ = 0;
};

}  // namespace dashctl::actions
