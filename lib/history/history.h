// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Each button's history, kept across restarts: presses in total, the last press, last seen,
// the seconds it spent awake, and its battery (an estimate). Pure: the daemon feeds it
// sightings with their times, saves it through the codec below at a rate the WriteGate
// bounds, and reads it back at start. Unit-tested on a fake clock (tests/history).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "press/press.h"
#include "util/net.h"

namespace dashctl::history {

using Wall = std::chrono::system_clock::time_point;

/// What each press adds to the awake time beyond the span the router sees (its first sighting
/// to its last): the button's Wi-Fi association and WPA handshake before its first DHCP
/// request, and its going back to sleep after its last packet. Documented in dashctl.toml(5).
inline constexpr std::chrono::milliseconds kAwakeAllowance{2000};

/// The battery in the button now.
struct Battery {
  std::optional<Wall> since;  ///< put in (`button battery --replaced`); nullopt: before the history began
  double start_level = 100;   ///< percent, when put in
  uint64_t awake_ms = 0;      ///< awake since then
  bool warned = false;        ///< the low-battery warning was given for this battery
  bool operator==(const Battery&) const = default;
};

struct LastPress {
  Wall time;
  std::vector<std::string> sources;  ///< first first
  util::Ipv4 ip;
  std::optional<util::Mac> mac;
  bool operator==(const LastPress&) const = default;
};

struct Record {
  /// The button's MAC and static address when last configured: a button renamed in the
  /// config keeps its record by them.
  std::optional<util::Mac> mac;
  std::optional<util::Ipv4> ip;
  uint64_t presses = 0;
  std::optional<LastPress> last_press;
  std::optional<Wall> last_seen;
  uint64_t awake_ms = 0;  ///< all presses, this battery's and earlier ones
  Battery battery;
  bool operator==(const Record&) const = default;
};

/// The estimate, percent in [0, 100]: the level the battery was put in at, less its awake
/// time as a share of the button's capacity.
double battery_level(const Battery& b, std::chrono::seconds capacity);
/// The estimate is at or below the button's battery_warning (never with 0): what the warning,
/// status and the state message all say.
bool battery_low(const Battery& battery, const config::Button& b);

/// The state file, `<daemon.state_dir>/buttons.json`: {"format":"dashctl-buttons","version":1,
/// "buttons":{NAME:{...}}}, times in milliseconds since the epoch. encode(decode(x)) == x
/// for what encode writes.
std::string encode(const std::map<std::string, Record>& records);
/// Throws util::Error (Exit::data) naming what is wrong: not JSON, another program's
/// file (no "format":"dashctl-buttons"), a version this dashctl does not know, a bad field.
std::map<std::string, Record> decode(std::string_view text);

class Book {
 public:
  /// What a sighting changed that the caller tells the world about.
  struct Change {
    bool low_battery = false;  ///< the estimate has just fallen to the button's warning level
  };

  /// The records read at start (decode), or none.
  explicit Book(std::map<std::string, Record> records = {}) : records_(std::move(records)) {}

  /// A known button's sighting. `started`: it started a press (counted, the allowance added);
  /// otherwise it joined the button's current press, whose span grows to it. Either way the
  /// button was seen.
  Change sighted(const config::Button& b, const press::Sighting& s, bool started);

  /// The config's buttons: each keeps its record, a renamed one (no record under its name, the
  /// record of a button no longer configured with the same MAC, else the same static address)
  /// takes its old name's; records of buttons gone are dropped. Returns {old, new} of the
  /// renames and the names dropped.
  struct Followed {
    std::vector<std::pair<std::string, std::string>> renamed;
    std::vector<std::string> dropped;
  };
  Followed follow(const config::Config& c);

  /// A new battery in a configured button, put in at `now` with `level` percent (1 to 100,
  /// else util::Error, Exit::usage). A button never seen gets its record here.
  void replace_battery(const config::Button& b, Wall now, double level);

  const std::map<std::string, Record>& records() const { return records_; }
  const Record* find(const std::string& button) const;

  /// Something changed since the last saved(): write the records.
  bool dirty() const { return dirty_; }
  void saved() { dirty_ = false; }
  /// The buttons changed since the last call (for their state messages), and forgets them.
  std::set<std::string> take_changed();

 private:
  struct Current {
    press::Clock::time_point first;  ///< the press's first sighting (monotonic)
    std::chrono::milliseconds span{0};
  };
  void add_awake(Record& r, std::chrono::milliseconds d);
  void touch(const std::string& name);

  std::map<std::string, Record> records_;
  std::map<std::string, Current> current_;  ///< not saved: a restart starts a new press anyway
  std::set<std::string> changed_;
  bool dirty_ = false;
};

/// Bounds how often the state file is written: a change after a quiet interval is written at
/// once (a single press is on disk before the next one), a storm of changes once per interval.
class WriteGate {
 public:
  using Clock = std::chrono::steady_clock;
  explicit WriteGate(std::chrono::milliseconds interval) : interval_(interval) {}
  /// When a change made at `now` is to be written: `now`, or the end of the interval since
  /// the last write.
  Clock::time_point due(Clock::time_point now) const;
  void wrote(Clock::time_point now) { last_ = now; }

 private:
  std::chrono::milliseconds interval_;
  std::optional<Clock::time_point> last_;
};

}  // namespace dashctl::history
