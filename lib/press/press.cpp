// SPDX-License-Identifier: GPL-2.0-or-later
#include "press/press.h"

#include <algorithm>

namespace dashctl::press {

const char* source_name(Source s) {
  switch (s) {
    case Source::connect: return "connect";
    case Source::dhcp: return "dhcp";
    case Source::nflog: return "nflog";
    case Source::ntp: return "ntp";
    case Source::test: return "test";
  }
  return "unknown";
}

std::optional<Press> Tracker::sight(const std::string& button, std::chrono::milliseconds window,
                                    const Sighting& s) {
  ButtonState& state = buttons_[button];
  ++state.sightings;
  state.last_sighting = s;

  // The window runs from the press's first sighting, not the latest one: a button that
  // keeps retrying (DHCP, DNS, several TLS attempts) cannot stretch one press forever.
  // A sighting older than the start (sources report out of order) joins it as well.
  auto current = current_.find(button);
  if (current != current_.end() && s.time - current->second.started < window) {
    if (std::find(state.press_sources.begin(), state.press_sources.end(), s.source) == state.press_sources.end())
      state.press_sources.push_back(s.source);
    return std::nullopt;
  }

  current_[button] = Current{s.time};
  ++state.presses;
  state.last_press = s;
  state.press_sources = {s.source};
  return Press{button, s, state.presses};
}

bool Tracker::sight_unknown(const Sighting& s, std::chrono::milliseconds window) {
  std::string key = s.mac ? s.mac->str() : s.ip.str();
  if (auto it = unknown_.find(key); it != unknown_.end()) {
    Unknown& u = it->second;
    ++u.device.sightings;
    u.device.ip = s.ip;
    u.device.last = s;
    if (s.time - u.reported < window) return false;
    u.reported = s.time;
    return true;
  }

  // Anyone on the IoT network can make up addresses: the table stays bounded, and the
  // device seen least recently makes room. A linear scan of at most max_unknown_devices
  // entries, only when a new device arrives at a full table.
  if (unknown_.size() >= max_unknown_devices) {
    auto oldest = std::min_element(unknown_.begin(), unknown_.end(), [](const auto& a, const auto& b) {
      return a.second.device.last.time < b.second.device.last.time;
    });
    unknown_.erase(oldest);
  }
  unknown_.emplace(std::move(key), Unknown{UnknownDevice{s.mac, s.ip, 1, s}, s.time});
  return true;
}

std::vector<UnknownDevice> Tracker::unknown_devices() const {
  std::vector<UnknownDevice> out;
  out.reserve(unknown_.size());
  for (const auto& [key, u] : unknown_) out.push_back(u.device);
  return out;
}

void Tracker::keep_only(const std::set<std::string>& names) {
  std::erase_if(buttons_, [&](const auto& b) { return !names.contains(b.first); });
  std::erase_if(current_, [&](const auto& c) { return !names.contains(c.first); });
}

}  // namespace dashctl::press
