// SPDX-License-Identifier: GPL-2.0-or-later
#include "history/history.h"

#include <algorithm>

#include "util/error.h"

namespace dashctl::history {

double battery_level(const Battery& b, std::chrono::seconds capacity) {
  const double used = capacity.count() > 0 ? 100.0 * static_cast<double>(b.awake_ms) /
                                                 (1000.0 * static_cast<double>(capacity.count()))
                                           : 100.0;
  return std::clamp(b.start_level - used, 0.0, 100.0);
}

bool battery_low(const Battery& battery, const config::Button& b) {
  return b.battery_warning > 0 && battery_level(battery, b.battery_capacity) <= static_cast<double>(b.battery_warning);
}

const Record* Book::find(const std::string& button) const {
  const auto it = records_.find(button);
  return it == records_.end() ? nullptr : &it->second;
}

void Book::touch(const std::string& name) {
  dirty_ = true;
  changed_.insert(name);
}

void Book::add_awake(Record& r, std::chrono::milliseconds d) {
  if (d.count() <= 0) return;
  r.awake_ms += static_cast<uint64_t>(d.count());
  r.battery.awake_ms += static_cast<uint64_t>(d.count());
}

Book::Change Book::sighted(const config::Button& b, const press::Sighting& s, bool started) {
  Record& r = records_[b.name];
  r.mac = b.mac;
  r.ip = b.ip;
  r.last_seen = s.wall;
  Change change;
  const std::string source = press::source_name(s.source);
  auto current = current_.find(b.name);
  if (!started && current == current_.end()) {
    // It joins a press this book did not see start (the book is newer than the tracker's
    // press): its span counts from here.
    current_[b.name] = Current{s.time, std::chrono::milliseconds(0)};
  } else if (started) {
    ++r.presses;
    r.last_press = LastPress{s.wall, {source}, s.ip, s.mac};
    current_[b.name] = Current{s.time, std::chrono::milliseconds(0)};
    add_awake(r, kAwakeAllowance);
  } else {
    const auto span = std::chrono::duration_cast<std::chrono::milliseconds>(s.time - current->second.first);
    if (span > current->second.span) {
      add_awake(r, span - current->second.span);
      current->second.span = span;
    }
    if (r.last_press && std::find(r.last_press->sources.begin(), r.last_press->sources.end(), source) ==
                            r.last_press->sources.end())
      r.last_press->sources.push_back(source);
  }
  if (!r.battery.warned && battery_low(r.battery, b)) {
    r.battery.warned = true;
    change.low_battery = true;
  }
  touch(b.name);
  return change;
}

Book::Followed Book::follow(const config::Config& c) {
  Followed out;
  std::set<std::string> configured;
  for (const auto& b : c.buttons) configured.insert(b.name);
  // A button with no record under its name takes the record of a button gone from the
  // config that had its MAC (or, when neither has one, its static address).
  for (const auto& b : c.buttons) {
    if (records_.contains(b.name)) continue;
    for (auto it = records_.begin(); it != records_.end(); ++it) {
      if (configured.contains(it->first)) continue;
      const Record& r = it->second;
      const bool same = (b.mac && r.mac) ? *b.mac == *r.mac : (!b.mac && !r.mac && b.ip && r.ip && *b.ip == *r.ip);
      if (!same) continue;
      out.renamed.emplace_back(it->first, b.name);
      records_[b.name] = r;
      current_.erase(it->first);
      records_.erase(it);
      touch(b.name);
      break;
    }
  }
  for (auto it = records_.begin(); it != records_.end();) {
    if (configured.contains(it->first)) {
      ++it;
      continue;
    }
    out.dropped.push_back(it->first);
    current_.erase(it->first);
    changed_.erase(it->first);
    it = records_.erase(it);
    dirty_ = true;
  }
  // The MAC and address each record follows are the config's from now on.
  for (const auto& b : c.buttons) {
    if (auto it = records_.find(b.name); it != records_.end() && (it->second.mac != b.mac || it->second.ip != b.ip)) {
      it->second.mac = b.mac;
      it->second.ip = b.ip;
      dirty_ = true;
    }
  }
  return out;
}

void Book::replace_battery(const config::Button& b, Wall now, double level) {
  if (!(level >= 1 && level <= 100))
    throw util::Error(util::Exit::usage, "a battery's level is a percentage from 1 to 100");
  Record& r = records_[b.name];
  r.mac = b.mac;
  r.ip = b.ip;
  r.battery = Battery{now, level, 0, false};
  touch(b.name);
}

std::set<std::string> Book::take_changed() {
  std::set<std::string> out;
  out.swap(changed_);
  return out;
}

WriteGate::Clock::time_point WriteGate::due(Clock::time_point now) const {
  if (!last_) return now;
  return std::max(now, *last_ + interval_);
}

}  // namespace dashctl::history
