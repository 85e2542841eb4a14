// SPDX-License-Identifier: GPL-2.0-or-later
#include "actions/runner.h"

#include <variant>

namespace dashctl::actions {

ActionRunner::ActionRunner(boost::asio::io_context& io, mqtt::Publisher& mqtt, Report report)
    : io_(io), mqtt_(mqtt), report_(std::move(report)) {}

void ActionRunner::run(const config::Config& config, const config::Button& button, const press::Press& press) {
  for (const auto& a : button.on_press) {
    const std::string_view kind = config::action_kind(a);
    if (const auto* m = std::get_if<config::MqttAction>(&a)) {
      if (!config.mqtt) continue;  // validate() refuses mqtt actions without [mqtt]
      mqtt::Message message{render(m->topic, press), render(m->payload, press), m->qos.value_or(config.mqtt->qos),
                            m->retain};
      mqtt_.publish(message);
      if (report_) report_(button.name, kind, Outcome{true, message.topic, {}});
      continue;
    }
    ++running_;
    auto done = [this, name = button.name, kind](const Outcome& o) {
      --running_;
      if (report_) report_(name, kind, o);
    };
    if (const auto* x = std::get_if<config::ExecAction>(&a))
      run_exec(io_, *x, press, std::move(done));
    else
      run_webhook(io_, std::get<config::WebhookAction>(a), press, std::move(done));
  }
}

}  // namespace dashctl::actions
