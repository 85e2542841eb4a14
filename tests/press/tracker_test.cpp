// SPDX-License-Identifier: GPL-2.0-or-later
// The tracker on a fake clock: one press, one event, per button.

#include "support/catch.h"

#include <algorithm>
#include <set>
#include <string>

#include "press/press.h"

using namespace dashctl;
using namespace dashctl::press;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0{std::chrono::hours(1000)};

Sighting at(Clock::duration since_t0, Source source = Source::connect,
            std::string_view ip = "10.77.0.201", std::optional<std::string_view> mac = std::nullopt) {
  Sighting s;
  s.source = source;
  s.ip = *util::Ipv4::parse(ip);
  if (mac) s.mac = util::Mac::parse(*mac);
  s.time = t0 + since_t0;
  s.wall = std::chrono::system_clock::time_point{} + since_t0;
  s.detail = "from " + std::string(ip);
  return s;
}

}  // namespace

TEST_CASE("the first sighting of a button starts a press") {
  Tracker t;
  auto p = t.sight("bedroom", 10s, at(0s));
  REQUIRE(p);
  CHECK(p->button == "bedroom");
  CHECK(p->number == 1);
  CHECK(p->first.time == t0);
  CHECK(p->first.detail == "from 10.77.0.201");
  const auto& st = t.buttons().at("bedroom");
  CHECK(st.presses == 1);
  CHECK(st.sightings == 1);
  REQUIRE(st.last_press);
  CHECK(st.last_press->time == t0);
}

TEST_CASE("sightings inside the window join the press and are counted") {
  Tracker t;
  REQUIRE(t.sight("bedroom", 10s, at(0s)));
  CHECK_FALSE(t.sight("bedroom", 10s, at(1ms)));
  CHECK_FALSE(t.sight("bedroom", 10s, at(5s)));
  CHECK_FALSE(t.sight("bedroom", 10s, at(9999ms)));
  const auto& st = t.buttons().at("bedroom");
  CHECK(st.presses == 1);
  CHECK(st.sightings == 4);
  CHECK(st.last_press->time == t0);
  CHECK(st.last_sighting->time == t0 + 9999ms);
}

TEST_CASE("the window runs from the start of the press, and its end starts a new one") {
  Tracker t;
  REQUIRE(t.sight("bedroom", 10s, at(0s)));
  // A button retrying every few seconds does not stretch the press beyond its window.
  CHECK_FALSE(t.sight("bedroom", 10s, at(4s)));
  CHECK_FALSE(t.sight("bedroom", 10s, at(8s)));
  auto second = t.sight("bedroom", 10s, at(10s));  // exactly start + window
  REQUIRE(second);
  CHECK(second->number == 2);
  CHECK(second->first.time == t0 + 10s);
  CHECK_FALSE(t.sight("bedroom", 10s, at(19999ms)));
  auto third = t.sight("bedroom", 10s, at(20s));
  REQUIRE(third);
  CHECK(third->number == 3);
  CHECK(t.buttons().at("bedroom").presses == 3);
  CHECK(t.buttons().at("bedroom").sightings == 6);
}

TEST_CASE("each button has its own window: one press never swallows another's") {
  Tracker t;
  REQUIRE(t.sight("bedroom", 10s, at(0s, Source::connect, "10.77.0.201")));
  auto kitchen = t.sight("kitchen", 10s, at(1ms, Source::connect, "10.77.0.202"));
  REQUIRE(kitchen);
  CHECK(kitchen->button == "kitchen");
  CHECK(kitchen->number == 1);
  CHECK_FALSE(t.sight("bedroom", 10s, at(2s)));
  CHECK_FALSE(t.sight("kitchen", 10s, at(2s, Source::connect, "10.77.0.202")));
  // Different windows: the short one ends while the long one still runs.
  REQUIRE(t.sight("hall", 1s, at(0s, Source::connect, "10.77.0.203")));
  REQUIRE(t.sight("hall", 1s, at(1s, Source::connect, "10.77.0.203")));
  CHECK_FALSE(t.sight("bedroom", 10s, at(1s)));
  CHECK(t.buttons().at("bedroom").presses == 1);
  CHECK(t.buttons().at("kitchen").presses == 1);
  CHECK(t.buttons().at("hall").presses == 2);
}

TEST_CASE("one press seen by every source fires once, at the earliest") {
  // The captured press in FACTS.md: DHCP at +28 ms, DNS at +57 ms, TLS at +553 and +820 ms.
  Tracker t;
  auto p = t.sight("bedroom", 10s, at(28ms, Source::dhcp, "10.77.0.201", "68:54:fd:12:34:56"));
  REQUIRE(p);
  CHECK(p->first.source == Source::dhcp);
  CHECK(p->first.mac == util::Mac::parse("68:54:fd:12:34:56"));
  CHECK_FALSE(t.sight("bedroom", 10s, at(57ms, Source::nflog)));
  CHECK_FALSE(t.sight("bedroom", 10s, at(553ms, Source::connect)));
  CHECK_FALSE(t.sight("bedroom", 10s, at(820ms, Source::connect)));
  const auto& st = t.buttons().at("bedroom");
  CHECK(st.presses == 1);
  CHECK(st.sightings == 4);
  CHECK(st.last_press->source == Source::dhcp);
  CHECK(st.last_press->time == t0 + 28ms);
  CHECK(st.last_sighting->source == Source::connect);
  CHECK(st.last_sighting->time == t0 + 820ms);
  CHECK(st.press_sources == std::vector<Source>{Source::dhcp, Source::nflog, Source::connect});
}

TEST_CASE("whichever source is first starts the press and the next press starts afresh") {
  // nflog sees the DHCP request before dnsmasq has answered it and run its script.
  Tracker t;
  CHECK(t.sight("bedroom", 10s, at(0ms, Source::nflog, "0.0.0.0", "68:54:fd:12:34:56")));
  CHECK_FALSE(t.sight("bedroom", 10s, at(4ms, Source::dhcp)));
  CHECK_FALSE(t.sight("bedroom", 10s, at(30ms, Source::nflog)));
  CHECK_FALSE(t.sight("bedroom", 10s, at(500ms, Source::connect)));
  CHECK(t.buttons().at("bedroom").press_sources == std::vector<Source>{Source::nflog, Source::dhcp, Source::connect});
  // The second press, 20 s on, is a connection only (the button kept its lease).
  const auto p = t.sight("bedroom", 10s, at(20s, Source::connect));
  REQUIRE(p);
  CHECK(p->number == 2);
  CHECK(t.buttons().at("bedroom").press_sources == std::vector<Source>{Source::connect});
  CHECK(t.buttons().at("bedroom").sightings == 5);
}

TEST_CASE("a sighting reported late, older than the press's start, joins it") {
  Tracker t;
  REQUIRE(t.sight("bedroom", 10s, at(553ms, Source::connect)));
  CHECK_FALSE(t.sight("bedroom", 10s, at(28ms, Source::dhcp)));
  CHECK(t.buttons().at("bedroom").presses == 1);
}

TEST_CASE("unknown devices are reported once per window, keyed by MAC, else address") {
  Tracker t;
  const auto mac = "02:11:22:33:44:55";
  CHECK(t.sight_unknown(at(0s, Source::dhcp, "10.77.0.50", mac), 10s));
  CHECK_FALSE(t.sight_unknown(at(1s, Source::connect, "10.77.0.50", mac), 10s));
  // The same MAC at a new address is the same device.
  CHECK_FALSE(t.sight_unknown(at(2s, Source::connect, "10.77.0.51", mac), 10s));
  CHECK(t.sight_unknown(at(10s, Source::connect, "10.77.0.51", mac), 10s));
  CHECK_FALSE(t.sight_unknown(at(19s, Source::connect, "10.77.0.51", mac), 10s));
  CHECK(t.sight_unknown(at(20s, Source::connect, "10.77.0.51", mac), 10s));

  // Without a MAC the address is the key.
  CHECK(t.sight_unknown(at(0s, Source::connect, "10.77.0.60"), 10s));
  CHECK_FALSE(t.sight_unknown(at(3s, Source::connect, "10.77.0.60"), 10s));
  CHECK(t.sight_unknown(at(3s, Source::connect, "10.77.0.61"), 10s));

  auto devices = t.unknown_devices();
  REQUIRE(devices.size() == 3);
  const auto with_mac = std::find_if(devices.begin(), devices.end(), [](const auto& d) { return d.mac.has_value(); });
  REQUIRE(with_mac != devices.end());
  CHECK(with_mac->sightings == 6);
  CHECK(with_mac->ip == *util::Ipv4::parse("10.77.0.51"));
  CHECK(with_mac->last.time == t0 + 20s);
  CHECK(t.buttons().empty());
}

TEST_CASE("a flood of made-up addresses cannot grow the unknown table") {
  Tracker t;
  const size_t limit = Tracker::max_unknown_devices;
  auto address = [](size_t i) {
    return "10." + std::to_string(i / 65536 % 256) + "." + std::to_string(i / 256 % 256) + "." +
           std::to_string(i % 256);
  };
  // Device 0 keeps being seen, so it is never the least recently seen.
  for (size_t i = 0; i < 3 * limit; ++i) {
    const auto when = std::chrono::milliseconds(static_cast<long>(i));
    CHECK(t.sight_unknown(at(when, Source::connect, address(i + 1)), 10s));
    t.sight_unknown(at(when, Source::connect, address(0)), 10s);
    if (i % 256 == 0) REQUIRE(t.unknown_devices().size() <= limit);
  }
  auto devices = t.unknown_devices();
  REQUIRE(devices.size() == limit);
  std::set<std::string> kept;
  for (const auto& d : devices) kept.insert(d.ip.str());
  CHECK(kept.contains(address(0)));
  CHECK(kept.contains(address(3 * limit)));        // the newest
  CHECK_FALSE(kept.contains(address(1)));           // the oldest went first
  CHECK_FALSE(kept.contains(address(2 * limit)));  // ... and everything that old
  // An evicted device that comes back is new again, and reported.
  CHECK(t.sight_unknown(at(1h, Source::connect, address(1)), 10s));
}

TEST_CASE("keep_only forgets removed buttons and keeps the others' counts and windows") {
  Tracker t;
  REQUIRE(t.sight("bedroom", 10s, at(0s)));
  REQUIRE(t.sight("kitchen", 10s, at(0s, Source::connect, "10.77.0.202")));
  REQUIRE(t.sight("kitchen", 10s, at(10s, Source::connect, "10.77.0.202")));
  t.keep_only({"kitchen", "hall"});
  CHECK_FALSE(t.buttons().contains("bedroom"));
  CHECK_FALSE(t.buttons().contains("hall"));  // configured, never seen
  REQUIRE(t.buttons().contains("kitchen"));
  CHECK(t.buttons().at("kitchen").presses == 2);
  // Kitchen's press still runs across the reload; bedroom, re-added, starts afresh.
  CHECK_FALSE(t.sight("kitchen", 10s, at(11s, Source::connect, "10.77.0.202")));
  auto again = t.sight("bedroom", 10s, at(1s));
  REQUIRE(again);
  CHECK(again->number == 1);
}

TEST_CASE("source names") {
  CHECK(std::string(source_name(Source::connect)) == "connect");
  CHECK(std::string(source_name(Source::dhcp)) == "dhcp");
  CHECK(std::string(source_name(Source::nflog)) == "nflog");
  CHECK(std::string(source_name(Source::test)) == "test");
}
