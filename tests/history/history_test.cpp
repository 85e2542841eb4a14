// SPDX-License-Identifier: GPL-2.0-or-later
// The buttons' history: the battery estimate, the book's accounting of presses and awake
// time (sightings carry their own times: a fake clock), renames, the state file's codec and
// its corrupt cases, and the write gate on a fake clock.

#include "support/catch.h"

#include "history/history.h"
#include "util/error.h"

using namespace dashctl;
using namespace std::chrono_literals;

namespace {

config::Button button(const std::string& name, std::optional<std::string_view> mac, std::optional<std::string_view> ip) {
  config::Button b;
  b.name = name;
  if (mac) b.mac = util::Mac::parse(*mac);
  if (ip) b.ip = util::Ipv4::parse(*ip);
  return b;
}

press::Sighting at(std::chrono::milliseconds t, press::Source source = press::Source::connect) {
  press::Sighting s;
  s.source = source;
  s.ip = *util::Ipv4::parse("10.77.0.201");
  s.time = press::Clock::time_point{} + t;
  s.wall = history::Wall{} + 24h * 365 * 56 + t;
  return s;
}

config::Config with(std::vector<config::Button> buttons) {
  config::Config c;
  c.buttons = std::move(buttons);
  return c;
}

}  // namespace

TEST_CASE("history: the battery estimate is the level put in less the awake time's share of the capacity") {
  history::Battery b;
  CHECK(history::battery_level(b, 7000s) == 100);
  b.awake_ms = 700'000;  // 700 s of 7000
  CHECK(history::battery_level(b, 7000s) == Approx(90));
  b.start_level = 50;
  CHECK(history::battery_level(b, 7000s) == Approx(40));
  b.awake_ms = 70'000'000;  // far more than a battery: never below 0
  CHECK(history::battery_level(b, 7000s) == 0);
  // 5 s a press (the allowance and 3 s the router saw): about 1,400 presses of 7000 s.
  history::Battery fresh;
  fresh.awake_ms = 1400 * 5000;
  CHECK(history::battery_level(fresh, 7000s) == Approx(0));
}

TEST_CASE("history: a press adds the allowance and its span; sightings that join it grow the span") {
  history::Book book;
  const auto b = button("bedroom", "68:54:fd:12:34:56", "10.77.0.201");
  book.sighted(b, at(0ms, press::Source::nflog), true);
  book.sighted(b, at(400ms, press::Source::ntp), false);
  book.sighted(b, at(900ms), false);
  book.sighted(b, at(600ms, press::Source::ntp), false);  // out of order: the span does not shrink
  const auto* r = book.find("bedroom");
  REQUIRE(r);
  CHECK(r->presses == 1);
  CHECK(r->awake_ms == 900 + history::kAwakeAllowance.count());
  CHECK(r->battery.awake_ms == r->awake_ms);
  REQUIRE(r->last_press);
  CHECK(r->last_press->sources == std::vector<std::string>{"nflog", "ntp", "connect"});
  CHECK(r->last_press->time == at(0ms).wall);
  CHECK(r->last_seen == at(600ms).wall);
  CHECK(book.dirty());
  CHECK(book.take_changed() == std::set<std::string>{"bedroom"});
  CHECK(book.take_changed().empty());

  book.sighted(b, at(30s), true);  // the next press
  CHECK(book.find("bedroom")->presses == 2);
  CHECK(book.find("bedroom")->awake_ms == 900 + 2 * history::kAwakeAllowance.count());
  CHECK(book.find("bedroom")->last_press->sources == std::vector<std::string>{"connect"});
}

TEST_CASE("history: a sighting joining a press the book did not see start counts no press") {
  history::Book book;
  const auto b = button("bedroom", "68:54:fd:12:34:56", std::nullopt);
  book.sighted(b, at(5s), false);
  CHECK(book.find("bedroom")->presses == 0);
  CHECK(book.find("bedroom")->awake_ms == 0);
  book.sighted(b, at(5500ms), false);
  CHECK(book.find("bedroom")->awake_ms == 500);
}

TEST_CASE("history: a renamed button keeps its record, a removed one's goes") {
  history::Book book;
  book.sighted(button("a", "68:54:fd:00:00:01", std::nullopt), at(0ms), true);
  book.sighted(button("b", std::nullopt, "10.77.0.202"), at(0ms), true);
  book.sighted(button("c", "68:54:fd:00:00:03", std::nullopt), at(0ms), true);
  book.saved();
  // a -> a2 (its MAC), b -> b2 (its address, neither has a MAC), c removed, d new.
  const auto followed = book.follow(with({button("a2", "68:54:fd:00:00:01", std::nullopt),
                                          button("b2", std::nullopt, "10.77.0.202"),
                                          button("d", "68:54:fd:00:00:04", std::nullopt)}));
  CHECK(followed.renamed ==
        std::vector<std::pair<std::string, std::string>>{{"a", "a2"}, {"b", "b2"}});
  CHECK(followed.dropped == std::vector<std::string>{"c"});
  CHECK(book.dirty());
  CHECK(book.records().size() == 2);
  CHECK(book.find("a2")->presses == 1);
  CHECK(book.find("b2")->presses == 1);
  CHECK_FALSE(book.find("a"));
  CHECK_FALSE(book.find("d"));

  // A MAC that differs is another button: no rename, the old one's record goes.
  const auto other = book.follow(with({button("x", "68:54:fd:00:00:09", std::nullopt), button("b2", std::nullopt, "10.77.0.202")}));
  CHECK(other.renamed.empty());
  CHECK(other.dropped == std::vector<std::string>{"a2"});
}

TEST_CASE("history: a new battery starts the estimate again, at the level given") {
  history::Book book;
  auto b = button("hall", std::nullopt, "10.77.0.203");
  b.battery_capacity = 100s;
  for (int i = 0; i < 40; ++i) book.sighted(b, at(i * 20s), true);  // 40 x 2 s = 80 s
  const auto* r = book.find("hall");
  CHECK(history::battery_level(r->battery, b.battery_capacity) == Approx(20));
  CHECK(r->battery.warned);  // crossed 25% on the way
  const auto when = history::Wall{} + 24h * 365 * 57;
  book.replace_battery(b, when, 80);
  r = book.find("hall");
  CHECK(history::battery_level(r->battery, b.battery_capacity) == Approx(80));
  CHECK(r->battery.since == when);
  CHECK_FALSE(r->battery.warned);
  CHECK(r->awake_ms == 80'000);  // the button's whole awake time stays
  CHECK(r->presses == 40);
  CHECK_THROWS_AS(book.replace_battery(b, when, 0), util::Error);
  CHECK_THROWS_AS(book.replace_battery(b, when, 101), util::Error);
  // A button never seen gets its record.
  book.replace_battery(button("new", "68:54:fd:00:00:07", std::nullopt), when, 100);
  CHECK(book.find("new")->presses == 0);
}

TEST_CASE("history: the warning is given once per battery, never with battery_warning = 0") {
  history::Book book;
  auto b = button("hall", std::nullopt, "10.77.0.203");
  b.battery_capacity = 100s;
  int warnings = 0;
  for (int i = 0; i < 60; ++i) warnings += book.sighted(b, at(i * 20s), true).low_battery ? 1 : 0;
  CHECK(warnings == 1);
  b.battery_warning = 0;
  history::Book quiet;
  for (int i = 0; i < 60; ++i) CHECK_FALSE(quiet.sighted(b, at(i * 20s), true).low_battery);
}

TEST_CASE("history: the state file reads back what was written") {
  history::Book book;
  const auto a = button("bedroom", "68:54:fd:12:34:56", "10.77.0.201");
  book.sighted(a, at(0ms, press::Source::ntp), true);
  book.sighted(a, at(750ms), false);
  book.replace_battery(button("hall", std::nullopt, "10.77.0.203"), history::Wall{} + 24h * 365 * 55, 90);
  const std::string text = history::encode(book.records());
  CHECK(text.find(R"("format": "dashctl-buttons")") != std::string::npos);
  CHECK(history::decode(text) == book.records());
  CHECK(history::decode(history::encode({})).empty());
}

TEST_CASE("history: a corrupt or foreign state file is refused with a reason, never half read") {
  auto refusal = [](std::string_view text) -> std::string {
    try {
      (void)history::decode(text);
    } catch (const util::Error& e) {
      CHECK(e.code() == util::Exit::data);
      return e.what();
    }
    FAIL("decoded " << text);
    return {};
  };
  const std::string head = R"({"format":"dashctl-buttons","version":1,"buttons":)";
  const std::string ok_battery = R"("battery":{"since":null,"start_level":100,"awake_ms":0,"warned":false})";
  auto one = [&](const std::string& fields) { return head + R"({"b":{)" + fields + "}}}"; };
  const std::string good = R"("presses":1,"last_press":null,"last_seen":null,"awake_ms":0,)" + ok_battery;
  CHECK(history::decode(one(good)).size() == 1);

  CHECK_THAT(refusal(""), Catch::Contains("not JSON"));
  CHECK_THAT(refusal(R"({"format":"dashctl-buttons","version":1,"buttons":{)"), Catch::Contains("not JSON"));  // cut short
  CHECK_THAT(refusal(R"({"presses":1})"), Catch::Contains("not a dashctl buttons file"));
  CHECK_THAT(refusal(R"([1,2])"), Catch::Contains("not a dashctl buttons file"));
  CHECK_THAT(refusal(R"({"format":"dashctl-buttons","version":2,"buttons":{}})"), Catch::Contains("version"));
  CHECK_THAT(refusal(R"({"format":"dashctl-buttons","version":1})"), Catch::Contains("\"buttons\""));
  CHECK_THAT(refusal(head + "[]}"), Catch::Contains("not an object"));
  CHECK_THAT(refusal(head + R"({"Bad Name":{}}})"), Catch::Contains("name"));
  CHECK_THAT(refusal(one(R"("presses":-1)")), Catch::Contains("presses"));
  CHECK_THAT(refusal(one(R"("presses":1.5)")), Catch::Contains("presses"));
  CHECK_THAT(refusal(one(R"("presses":1,"last_seen":-5,"awake_ms":0,)" + ok_battery)), Catch::Contains("last_seen"));
  // Past what the system clock's nanoseconds hold (2262): refused, never overflowed.
  CHECK_THAT(refusal(one(R"("presses":1,"last_seen":17640000000000,"awake_ms":0,)" + ok_battery)),
             Catch::Contains("last_seen"));
  CHECK(history::decode(one(R"("presses":1,"last_seen":7258118399999,"awake_ms":0,)" + ok_battery)).size() == 1);
  CHECK_THAT(refusal(one(R"("presses":1,"last_seen":"yesterday","awake_ms":0,)" + ok_battery)),
             Catch::Contains("last_seen"));
  CHECK_THAT(refusal(one(R"("mac":"zz","presses":1,"awake_ms":0,)" + ok_battery)), Catch::Contains("mac"));
  CHECK_THAT(refusal(one(R"("ip":"10.1","presses":1,"awake_ms":0,)" + ok_battery)), Catch::Contains("ip"));
  CHECK_THAT(refusal(one(R"("presses":1,"awake_ms":0)")), Catch::Contains("battery"));
  CHECK_THAT(refusal(one(R"("presses":1,"awake_ms":0,"battery":{"since":null,"start_level":150,"awake_ms":0,"warned":false})")),
             Catch::Contains("start_level"));
  CHECK_THAT(refusal(one(R"("presses":1,"awake_ms":0,"battery":{"since":null,"start_level":100,"awake_ms":0,"warned":1})")),
             Catch::Contains("warned"));
  CHECK_THAT(refusal(one(R"("presses":1,"last_press":{"time":1,"sources":"ntp","ip":"10.77.0.201"},"awake_ms":0,)" + ok_battery)),
             Catch::Contains("sources"));
  CHECK_THAT(refusal(one(R"("presses":1,"last_press":{"time":1,"sources":[]},"awake_ms":0,)" + ok_battery)),
             Catch::Contains("ip"));
}

TEST_CASE("history: the write gate writes a change after a quiet interval at once, a storm once per interval") {
  using C = history::WriteGate::Clock;
  history::WriteGate gate(5s);
  const C::time_point t0{};
  CHECK(gate.due(t0) == t0);  // nothing written yet: now
  gate.wrote(t0);
  CHECK(gate.due(t0 + 1s) == t0 + 5s);
  CHECK(gate.due(t0 + 7s) == t0 + 7s);

  // 1,000 presses over 10 s, each change written when the gate says: 3 writes, not 1,000.
  history::WriteGate storm(5s);
  std::optional<C::time_point> pending;
  int writes = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto now = t0 + std::chrono::milliseconds(i * 10);
    if (pending && *pending <= now) {
      storm.wrote(*pending);
      ++writes;
      pending.reset();
    }
    if (pending) continue;  // a write is already scheduled: it takes this change too
    const auto due = storm.due(now);
    if (due <= now) {
      storm.wrote(now);
      ++writes;
    } else {
      pending = due;
    }
  }
  if (pending) ++writes;  // the last scheduled one
  CHECK(writes == 3);  // at 0 s, 5 s, 10 s
}
