// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/pipeline.h"

#include <spdlog/spdlog.h>

namespace dashctl::daemon {
namespace {

std::string who(const press::Sighting& s) { return s.ip.str() + (s.mac ? " (" + s.mac->str() + ")" : ""); }

}  // namespace

PressPipeline::PressPipeline(const config::Config& config, press::Identifier& identifier, press::Tracker& tracker,
                             history::Book& history, actions::Runner& actions, mqtt::Publisher& mqtt,
                             std::function<press::Clock::time_point()> now)
    : config_(&config),
      identifier_(identifier),
      tracker_(tracker),
      history_(history),
      actions_(actions),
      mqtt_(mqtt),
      now_(std::move(now)) {}

bool PressPipeline::on_sighting(press::Sighting s) {
  ++counters_.sightings;
  const config::Config& c = *config_;
  const auto id = identifier_.identify(c, s.ip, s.mac);
  // From here on the sighting is the identity: the tracker, the actions, the press message
  // and status all see the same MAC and address.
  s.mac = id.mac;
  s.ip = id.ip;
  if (!id.button) {
    unknown(s, id);
    return false;
  }

  const auto press = tracker_.sight(id.button->name, id.button->window, s);
  if (!press) {
    spdlog::debug("{}: {} from {} joins the press", id.button->name, press::source_name(s.source), who(s));
    remember(*id.button, s, false);
    return true;
  }
  ++counters_.presses;
  // The actions first, what the user waits for; then the press event and the log line.
  // (An action that cannot start reports it later, from the loop.)
  actions_.run(c, *id.button, *press);
  press_to_action_.add(now_() - press->first.time);
  if (c.mqtt) mqtt_.publish(mqtt::press_message(*c.mqtt, *press));
  spdlog::info("{}: pressed ({} from {}: {}, #{})", id.button->name, press::source_name(s.source), who(s), s.detail,
               press->number);
  remember(*id.button, s, true);
  return true;
}

void PressPipeline::remember(const config::Button& b, const press::Sighting& s, bool started) {
  if (!history_.sighted(b, s, started).low_battery) return;
  const auto* r = history_.find(b.name);
  spdlog::warn("{}: battery low: about {:.0f}% left, an estimate from its awake time (warning at {}%); after a new "
               "one: dashctl button battery {} --replaced",
               b.name, history::battery_level(r->battery, b.battery_capacity), b.battery_warning, b.name);
  if (config_->mqtt) mqtt_.publish(mqtt::battery_low_message(*config_->mqtt, b, *r, s.wall));
}

void PressPipeline::tick(press::Clock::time_point now) {
  if (now - unknown_window_ < kUnknownWindow) return;
  if (unknown_held_ > 0) {
    const size_t remembered = tracker_.unknown_devices().size();
    spdlog::warn("unknown devices: {} more report{} held back in {} s (at most {} a window); {} device{} remembered",
                 unknown_held_, unknown_held_ == 1 ? "" : "s", kUnknownWindow.count(), kUnknownReports, remembered,
                 remembered == 1 ? "" : "s");
    if (config_->mqtt) mqtt_.publish(mqtt::unknown_summary_message(*config_->mqtt, unknown_held_, kUnknownWindow));
  }
  unknown_window_ = now;
  unknown_reports_ = unknown_held_ = 0;
}

void PressPipeline::unknown(const press::Sighting& s, const press::Identity& id) {
  if (!tracker_.sight_unknown(s, kUnknownWindow)) return;
  tick(s.time);
  if (unknown_reports_ >= kUnknownReports) {
    ++unknown_held_;
    ++counters_.unknown_suppressed;
    return;
  }
  ++unknown_reports_;
  ++counters_.unknown;
  if (id.contradicted)
    spdlog::warn("unknown device {}: {}; it has the static address of button '{}' but not its MAC (a possible spoof)",
                 who(s), press::source_name(s.source), id.contradicted->name);
  else
    spdlog::info("unknown device {}: {}", who(s), press::source_name(s.source));
  if (config_->mqtt) mqtt_.publish(mqtt::unknown_message(*config_->mqtt, s));
}

}  // namespace dashctl::daemon
