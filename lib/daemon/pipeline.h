// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The press pipeline: every source's sightings go through one path, identify -> track ->
// fire. No event loop in here: the parts it drives are interfaces (the Identifier's lookups,
// actions::Runner, mqtt::Publisher), so that unit tests run it with fakes.

#include <chrono>
#include <cstdint>
#include <functional>

#include "actions/actions.h"
#include "config/model.h"
#include "history/history.h"
#include "mqtt/topics.h"
#include "press/identify.h"
#include "press/press.h"
#include "util/histogram.h"

namespace dashctl::daemon {

class PressPipeline {
 public:
  /// An unknown device is logged and published once per this long.
  static constexpr std::chrono::seconds kUnknownWindow{10};
  /// At most this many unknown-device reports (log lines and messages) per kUnknownWindow, all
  /// devices together; past it they are counted, and said in one summary when the window ends.
  static constexpr uint64_t kUnknownReports = 20;

  struct Counters {
    uint64_t sightings = 0;
    uint64_t presses = 0;
    uint64_t unknown = 0;             ///< unknown-device reports (logged and published)
    uint64_t unknown_suppressed = 0;  ///< reports past kUnknownReports a window: only counted
  };

  /// The parts are the caller's and must outlive the pipeline. `now` is the clock the
  /// press-to-action histogram is read on (a fake one in tests).
  PressPipeline(const config::Config& config, press::Identifier& identifier, press::Tracker& tracker,
                history::Book& history, actions::Runner& actions, mqtt::Publisher& mqtt,
                std::function<press::Clock::time_point()> now = press::Clock::now);

  /// After a reload: the config in use from now on (the caller keeps it alive).
  void set_config(const config::Config& config) { config_ = &config; }

  /// Identifies the sighting's device once, as one complete identity {button, mac, ip},
  /// and records it with the tracker. The first sighting of a press starts the button's
  /// actions, then publishes its press message (when [mqtt] is set) and logs it: actions,
  /// message and log all see the same press. Unknown devices are logged and published at
  /// most once per kUnknownWindow each; one whose MAC contradicts a button's static address
  /// is logged as a possible spoof. Every known button's sighting goes into its history
  /// (after the actions started): the first time its battery estimate falls to its warning
  /// level, that is logged and published. Returns true when the sighting was a known button's.
  bool on_sighting(press::Sighting s);

  /// Says the summary of a window of unknown-device reports that has ended with some held
  /// back; the daemon calls it every kUnknownWindow (on_sighting does too).
  void tick(press::Clock::time_point now);

  const Counters& counters() const { return counters_; }
  /// Per press, from the sighting that made it to its actions started.
  const util::Histogram& press_to_action() const { return press_to_action_; }

 private:
  void unknown(const press::Sighting& s, const press::Identity& id);
  void remember(const config::Button& b, const press::Sighting& s, bool started);

  const config::Config* config_;
  press::Identifier& identifier_;
  press::Tracker& tracker_;
  history::Book& history_;
  actions::Runner& actions_;
  mqtt::Publisher& mqtt_;
  std::function<press::Clock::time_point()> now_;
  Counters counters_;
  util::Histogram press_to_action_;
  /// The current window of unknown-device reports, all devices together.
  press::Clock::time_point unknown_window_{};
  uint64_t unknown_reports_ = 0, unknown_held_ = 0;
};

}  // namespace dashctl::daemon
