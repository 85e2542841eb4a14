// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Sightings and presses. Every press source (a connection to the listener, a dnsmasq lease
// event, a logged DHCP request or DNS query) turns what it saw into a Sighting; the Tracker turns sightings
// into presses: one press, one event. Pure: time is passed in, so tests use a fake clock.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "util/net.h"

namespace dashctl::press {

using Clock = std::chrono::steady_clock;

/// connect: a connection to the listener. dhcp: dnsmasq's lease event (dhcp-event). nflog:
/// the kernel's log of the button's own DHCP request or DNS query. ntp: its time request to
/// the daemon's NTP responder. test: `button test`.
enum class Source { connect, dhcp, nflog, ntp, test };

/// "connect", "dhcp", "nflog", "ntp" or "test".
const char* source_name(Source s);

struct Sighting {
  Source source = Source::connect;
  std::optional<util::Mac> mac;
  util::Ipv4 ip;
  Clock::time_point time;                      ///< monotonic: windows are measured on it
  std::chrono::system_clock::time_point wall;  ///< for {time} and status
  std::string detail;                          ///< e.g. "from 10.77.0.201:51234"
};

/// A press that has just started: fire the button's actions.
struct Press {
  std::string button;
  Sighting first;       ///< the sighting that started it
  uint64_t number = 0;  ///< this button's presses since the daemon started, this one included
};

/// What `status` shows per button.
struct ButtonState {
  uint64_t presses = 0;    ///< presses started
  uint64_t sightings = 0;  ///< sightings, those that joined a press included
  std::optional<Sighting> last_press;  ///< the first sighting of the latest press
  std::vector<Source> press_sources;   ///< the latest press's sources, in the order they first showed
  std::optional<Sighting> last_sighting;
};

/// A device that is no button of the config.
struct UnknownDevice {
  std::optional<util::Mac> mac;
  util::Ipv4 ip;
  uint64_t sightings = 0;
  Sighting last;
};

class Tracker {
 public:
  /// At most this many unknown devices are remembered; the least recently seen makes room.
  static constexpr std::size_t max_unknown_devices = 1024;

  /// Records a sighting of a known button. The first sighting starts a press (returned:
  /// fire the actions now); sightings less than `window` after the start of the current
  /// press join it (counted; nullopt). Each button has its own window.
  std::optional<Press> sight(const std::string& button, std::chrono::milliseconds window, const Sighting& s);

  /// Records a sighting of an unknown device (keyed by MAC, else by address). Returns true
  /// when it should be logged and published: the first time, and then once per `window`.
  bool sight_unknown(const Sighting& s, std::chrono::milliseconds window);

  const std::map<std::string, ButtonState>& buttons() const { return buttons_; }
  std::vector<UnknownDevice> unknown_devices() const;

  /// After a config reload: forgets buttons no longer configured, keeps the others.
  void keep_only(const std::set<std::string>& names);

 private:
  struct Current {
    Clock::time_point started;
  };
  std::map<std::string, ButtonState> buttons_;
  std::map<std::string, Current> current_;
  struct Unknown {
    UnknownDevice device;
    Clock::time_point reported;
  };
  std::map<std::string, Unknown> unknown_;  ///< by MAC string, else IP string
};

}  // namespace dashctl::press
