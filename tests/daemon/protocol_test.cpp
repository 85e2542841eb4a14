// SPDX-License-Identifier: GPL-2.0-or-later
// The control socket's protocol (daemon/protocol.h): what the daemon makes of the bytes a
// client sends, and what `dashctl status` reads of the daemon's answer.

#include "support/catch.h"

#include <string>

#include <nlohmann/json.hpp>

#include "daemon/protocol.h"
#include "util/error.h"

using namespace dashctl;
using namespace dashctl::daemon;
using namespace std::string_literals;

TEST_CASE("the three requests, each a line of its own") {
  CHECK(parse_request("ping\n") == Request::ping);
  CHECK(parse_request("status\n") == Request::status);
  CHECK(parse_request("reload\n") == Request::reload);
}

TEST_CASE("a line without its newline is not a request yet") {
  CHECK(parse_request("") == Request::incomplete);
  CHECK(parse_request("ping") == Request::incomplete);
  CHECK(parse_request("stat") == Request::incomplete);
  CHECK(parse_request(std::string(kMaxRequest - 1, 'x')) == Request::incomplete);
}

TEST_CASE("the line is matched exactly: anything else is an unknown request") {
  CHECK(parse_request("\n") == Request::unknown);
  CHECK(parse_request("ping\r\n") == Request::unknown);  // CRLF
  CHECK(parse_request("ping \n") == Request::unknown);
  CHECK(parse_request(" ping\n") == Request::unknown);
  CHECK(parse_request("status now\n") == Request::unknown);  // extra words
  CHECK(parse_request("PING\n") == Request::unknown);
  CHECK(parse_request("ping\0\n"s) == Request::unknown);  // a NUL
  CHECK(parse_request("\0ping\n"s) == Request::unknown);
  CHECK(parse_request("pingstatus\n") == Request::unknown);
  CHECK(parse_request("help\n") == Request::unknown);
}

TEST_CASE("what follows the first newline is ignored") {
  CHECK(parse_request("ping\nstatus\n") == Request::ping);
  CHECK(parse_request("reload\n\0garbage"s) == Request::reload);
  CHECK(parse_request("\nping\n") == Request::unknown);
}

TEST_CASE("a request is at most 256 bytes, its newline included") {
  REQUIRE(kMaxRequest == 256);
  const std::string longest(kMaxRequest - 1, 'x');
  CHECK(parse_request(longest + "\n") == Request::unknown);
  CHECK(parse_request(longest + "x") == Request::too_long);
  CHECK(parse_request(longest + "x\n") == Request::too_long);
  CHECK(parse_request(std::string(4096, 'x') + "\n") == Request::too_long);
  // A known request padded to the limit is still refused as unknown, not cut down to size.
  CHECK(parse_request("ping" + std::string(kMaxRequest - 5, ' ') + "\n") == Request::unknown);
  CHECK(parse_request("ping" + std::string(kMaxRequest - 4, ' ') + "\n") == Request::too_long);
}

TEST_CASE("battery requests: a button's name and a level from 1 to 100") {
  CHECK(parse_request("battery bedroom 100\n") == Request::battery);
  const auto r = parse_battery("battery bedroom 80\n");
  REQUIRE(r);
  CHECK(r->button == "bedroom");
  CHECK(r->level == 80);
  CHECK(battery_request(*r) == "battery bedroom 80");
  CHECK(parse_battery(battery_request({"a-1_b", 1}) + "\n")->level == 1);
  for (const char* bad : {"battery bedroom\n", "battery bedroom 0\n", "battery bedroom 101\n", "battery bedroom 080\n",
                          "battery bedroom -5\n", "battery bedroom 5x\n", "battery Bedroom 5\n", "battery  bedroom 5\n",
                          "battery bedroom 5 \n", "battery bedroom 5\r\n", "battery ../x 5\n", "battery bedroom 1000\n"}) {
    INFO(bad);
    CHECK(parse_request(bad) == Request::unknown);
    CHECK_FALSE(parse_battery(bad));
  }
  CHECK(parse_request("battery bedroom 5") == Request::incomplete);
}

TEST_CASE("the answers other than status") {
  CHECK(kAnswerOk == R"({"ok":true})");
  CHECK(kAnswerUnknown == R"({"error":"unknown request"})");
}

namespace {

// An answer as the daemon writes it (status_json(), filled in by daemon.cpp).
const char* const kStatus = R"({"buttons":[
  {"last_press":{"ip":"10.77.0.201","mac":"ac:63:be:00:00:01","source":"connect","time":"2026-12-01T10:00:00Z"},
   "name":"bedroom","press_sources":["dhcp","connect"],"presses":3,"sightings":9,"last_press_span_ms":812.5,
   "history":{"presses":41,"last_press":"2026-12-01T10:00:00Z","last_seen":"2026-12-01T10:00:01Z","awake_s":170.5,
     "battery":{"estimate":97.6,"since":null,"capacity_s":7000,"warning":25,"low":false}}},
  {"last_press":null,"name":"hall","presses":0,"sightings":0,
   "history":{"presses":0,"last_press":null,"last_seen":null,"awake_s":0.0,
     "battery":{"estimate":100.0,"since":"2026-11-30T08:00:00Z","capacity_s":3600,"warning":0,"low":false}}}],
 "config":"/etc/dashctl/dashctl.toml",
 "counters":{"actions_failed":0,"actions_ok":3,"actions_running":0,"bad_datagrams":0,"events_outside":0,"busy":0,
   "connections":1,
   "dhcp_events":2,"nflog_malformed":0,"nflog_packets":0,"open_connections":0,"presses":3,"sightings":9,"unknown":1,"unknown_suppressed":0,
   "ntp_answered":3,"ntp_ignored":1,"tls_handshakes":2,"tls_alerts":4,"tls_failed":0,"tls_capped":0},
 "latency":{"accept_to_dispatch":{"count":12,"max_us":1840.2,"p50_us":6.3,"p99_us":49},
   "press_to_action":{"count":0,"max_us":0.0,"p50_us":0.0,"p99_us":0.0}},
 "listen":"10.77.0.1:8443",
 "mqtt":{"connected":true,"dropped":0,"published":4,"queued":1},
 "pid":4242,
 "sources":{"connect":true,"dhcp":"/run/dashctl/events.sock","nflog":3,"nflog_lost":0,"ntp":1123,"tls":true},
 "started":"2026-12-01T09:00:00Z","uptime_s":3600,"version":"0.1.0",
 "history":{"file":"/var/lib/dashctl-daemon/buttons.json","writes":7,"write_errors":0,"problem":null},
 "unknown":[{"ip":"10.77.0.99","last":{"ip":"10.77.0.99","mac":null,"source":"connect","time":"2026-12-01T10:01:00Z"},
   "mac":null,"sightings":1}]})";

StatusAnswer read(const std::string& text) { return read_status(nlohmann::json::parse(text)); }

std::string refusal(const std::string& text) {
  try {
    (void)read(text);
  } catch (const util::Error& e) {
    CHECK(e.code() == util::Exit::unavailable);
    return e.what();
  }
  FAIL("read_status took " << text);
  return {};
}

}  // namespace

TEST_CASE("read_status reads what status prints") {
  const auto s = read(kStatus);
  CHECK(s.pid == 4242);
  CHECK(s.uptime_s == 3600);
  CHECK(s.listen == "10.77.0.1:8443");
  CHECK(s.connections == 1);
  CHECK(s.presses == 3);
  REQUIRE(s.mqtt);
  CHECK(s.mqtt->connected);
  CHECK(s.mqtt->published == 4);
  CHECK(s.mqtt->queued == 1);
  CHECK(s.mqtt->dropped == 0);
  REQUIRE(s.sources);
  CHECK(s.sources->dhcp == "/run/dashctl/events.sock");
  CHECK(s.sources->nflog == 3);
  REQUIRE(s.buttons.size() == 2);
  CHECK(s.buttons[0].name == "bedroom");
  CHECK(s.buttons[0].presses == 3);
  REQUIRE(s.buttons[0].last_press);
  CHECK(s.buttons[0].last_press->time == "2026-12-01T10:00:00Z");
  CHECK(s.buttons[0].last_press->ip == "10.77.0.201");
  CHECK(s.buttons[0].press_sources == std::vector<std::string>{"dhcp", "connect"});
  REQUIRE(s.buttons[0].history);
  CHECK(s.buttons[0].history->presses == 41);
  CHECK(s.buttons[0].history->battery == Approx(97.6));
  CHECK(s.buttons[0].history->last_seen == "2026-12-01T10:00:01Z");
  CHECK_FALSE(s.buttons[0].history->battery_since);
  CHECK(s.buttons[1].name == "hall");
  REQUIRE(s.buttons[1].history);
  CHECK(s.buttons[1].history->battery_since == "2026-11-30T08:00:00Z");
  CHECK(s.buttons[1].history->battery_capacity_s == 3600);
  CHECK_FALSE(s.buttons[1].history->last_press);
  CHECK_FALSE(s.buttons[1].last_press);
  CHECK(s.buttons[1].press_sources.empty());
  REQUIRE(s.unknown.size() == 1);
  CHECK(s.unknown[0].ip == "10.77.0.99");
  CHECK_FALSE(s.unknown[0].mac);
  CHECK(s.unknown[0].sightings == 1);
  CHECK(s.unknown[0].last_time == "2026-12-01T10:01:00Z");
  REQUIRE(s.latency);
  CHECK(s.latency->first.count == 12);
  CHECK(s.latency->first.p50_us == Approx(6.3));
  CHECK(s.latency->first.p99_us == Approx(49));
  CHECK(s.latency->first.max_us == Approx(1840.2));
  CHECK(s.latency->second.count == 0);
}

TEST_CASE("read_status: no MQTT, NFLOG off, no sources from an older daemon") {
  auto j = nlohmann::json::parse(kStatus);
  j["mqtt"] = nullptr;
  j["sources"]["nflog"] = false;
  auto s = read_status(j);
  CHECK_FALSE(s.mqtt);
  REQUIRE(s.sources);
  CHECK_FALSE(s.sources->nflog);
  j.erase("sources");
  j.erase("latency");
  s = read_status(j);
  CHECK_FALSE(s.sources);
  CHECK_FALSE(s.latency);
}

TEST_CASE("read_status refuses an answer it cannot print, with an error, never a crash") {
  CHECK_THAT(refusal("[]"), Catch::Contains("malformed") && Catch::Contains("not an object"));
  CHECK_THAT(refusal(R"({"error":"unknown request"})"), Catch::Contains("no \"pid\""));
  auto broken = [](const std::function<void(nlohmann::json&)>& change) {
    auto j = nlohmann::json::parse(kStatus);
    change(j);
    return refusal(j.dump());
  };
  CHECK_THAT(broken([](auto& j) { j["pid"] = 1e300; }), Catch::Contains("\"pid\""));
  CHECK_THAT(broken([](auto& j) { j["pid"] = 4294967296ULL; }), Catch::Contains("\"pid\""));
  CHECK_THAT(broken([](auto& j) { j["pid"] = "4242"; }), Catch::Contains("\"pid\""));
  CHECK_THAT(broken([](auto& j) { j["uptime_s"] = 18446744073709551615ULL; }), Catch::Contains("\"uptime_s\""));
  CHECK_THAT(broken([](auto& j) { j["counters"]["presses"] = -1; }), Catch::Contains("\"presses\""));
  CHECK_THAT(broken([](auto& j) { j["counters"] = 7; }), Catch::Contains("counters is not an object"));
  CHECK_THAT(broken([](auto& j) { j["mqtt"]["connected"] = 1; }), Catch::Contains("\"connected\""));
  CHECK_THAT(broken([](auto& j) { j["sources"]["nflog"] = 2.5; }), Catch::Contains("\"nflog\""));
  CHECK_THAT(broken([](auto& j) { j["latency"]["press_to_action"]["p99_us"] = -1; }), Catch::Contains("\"p99_us\""));
  CHECK_THAT(broken([](auto& j) { j["latency"]["accept_to_dispatch"]["max_us"] = "1"; }),
             Catch::Contains("\"max_us\""));
  CHECK_THAT(broken([](auto& j) { j["latency"]["accept_to_dispatch"]["count"] = 1.5; }), Catch::Contains("\"count\""));
  CHECK_THAT(broken([](auto& j) { j["latency"].erase("press_to_action"); }), Catch::Contains("press_to_action"));
  CHECK_THAT(broken([](auto& j) { j["latency"] = 3; }), Catch::Contains("latency is not an object"));
  CHECK_THAT(broken([](auto& j) { j["buttons"] = nlohmann::json::object(); }), Catch::Contains("\"buttons\""));
  CHECK_THAT(broken([](auto& j) { j["buttons"][0].erase("last_press"); }), Catch::Contains("\"last_press\""));
  CHECK_THAT(broken([](auto& j) { j["buttons"][0]["press_sources"][0] = 1; }), Catch::Contains("press source"));
  CHECK_THAT(broken([](auto& j) { j["unknown"][0]["last"] = nullptr; }), Catch::Contains("not an object"));
  CHECK_THAT(broken([](auto& j) { j["unknown"][0]["mac"] = 5; }), Catch::Contains("\"mac\""));
}

namespace {

/// The status kStatus shows, as the daemon fills it in.
Status sample_status() {
  Status s;
  s.pid = 4242;
  s.version = "0.1.0";
  s.config = "/etc/dashctl/dashctl.toml";
  s.started = "2026-12-01T09:00:00Z";
  s.uptime_s = 3600;
  s.listen = "10.77.0.1:8443";
  s.counters.actions_ok = 3;
  s.counters.connections = 1;
  s.counters.dhcp_events = 2;
  s.counters.presses = 3;
  s.counters.sightings = 9;
  s.counters.unknown = 1;
  s.counters.ntp_answered = 3;
  s.counters.ntp_ignored = 1;
  s.counters.tls_handshakes = 2;
  s.counters.tls_alerts = 4;
  s.event_socket = "/run/dashctl/events.sock";
  s.nflog = 3;
  s.ntp = 1123;
  s.tls = true;
  s.accept_to_dispatch = {12, 6.3, 49, 1840.2};
  s.mqtt = Status::Mqtt{true, 4, 1, 0};
  s.buttons.push_back({"bedroom", 3, 9,
                       Status::Sighting{"connect", "10.77.0.201", "ac:63:be:00:00:01", "2026-12-01T10:00:00Z"},
                       std::vector<std::string>{"dhcp", "connect"}, 812.5,
                       ButtonHistory{41, "2026-12-01T10:00:00Z", "2026-12-01T10:00:01Z", 170.5, 97.6, std::nullopt,
                                     7000, 25, false}});
  s.buttons.push_back({"hall", 0, 0, std::nullopt, std::nullopt, std::nullopt,
                       ButtonHistory{0, std::nullopt, std::nullopt, 0, 100, "2026-11-30T08:00:00Z", 3600, 0, false}});
  s.history = HistoryFile{"/var/lib/dashctl-daemon/buttons.json", 7, 0, std::nullopt};
  s.unknown.push_back({"10.77.0.99", std::nullopt, 1,
                       Status::Sighting{"connect", "10.77.0.99", std::nullopt, "2026-12-01T10:01:00Z"}});
  return s;
}

}  // namespace

TEST_CASE("status_json writes the answer as documented") {
  CHECK(status_json(sample_status()) == nlohmann::json::parse(kStatus));
}

TEST_CASE("status_json and read_status agree") {
  auto s = sample_status();
  s.counters.open_connections = 2;
  s.press_to_action = {5, 700.5, 900, 1200};
  const auto back = read_status(nlohmann::json::parse(status_json(s).dump()));
  CHECK(back.pid == s.pid);
  CHECK(back.uptime_s == s.uptime_s);
  CHECK(back.listen == s.listen);
  CHECK(back.connections == s.counters.connections);
  CHECK(back.presses == s.counters.presses);
  REQUIRE(back.mqtt);
  CHECK(back.mqtt->connected == s.mqtt->connected);
  CHECK(back.mqtt->published == s.mqtt->published);
  CHECK(back.mqtt->queued == s.mqtt->queued);
  CHECK(back.mqtt->dropped == s.mqtt->dropped);
  REQUIRE(back.sources);
  CHECK(back.sources->dhcp == s.event_socket);
  CHECK(back.sources->nflog == s.nflog);
  REQUIRE(back.latency);
  CHECK(back.latency->first.count == s.accept_to_dispatch.count);
  CHECK(back.latency->first.p99_us == Approx(s.accept_to_dispatch.p99_us));
  CHECK(back.latency->second.count == s.press_to_action.count);
  CHECK(back.latency->second.p50_us == Approx(s.press_to_action.p50_us));
  CHECK(back.latency->second.max_us == Approx(s.press_to_action.max_us));
  REQUIRE(back.buttons.size() == s.buttons.size());
  for (size_t i = 0; i < s.buttons.size(); ++i) {
    CHECK(back.buttons[i].name == s.buttons[i].name);
    CHECK(back.buttons[i].presses == s.buttons[i].presses);
    CHECK(bool(back.buttons[i].last_press) == bool(s.buttons[i].last_press));
    if (s.buttons[i].last_press) {
      CHECK(back.buttons[i].last_press->time == s.buttons[i].last_press->time);
      CHECK(back.buttons[i].last_press->ip == s.buttons[i].last_press->ip);
    }
    CHECK(back.buttons[i].press_sources == s.buttons[i].press_sources.value_or(std::vector<std::string>{}));
    CHECK(back.buttons[i].last_press_span_ms == s.buttons[i].last_press_span_ms);
    CHECK(back.buttons[i].history == s.buttons[i].history);
  }
  REQUIRE(back.history);
  CHECK(back.history->path == s.history.path);
  CHECK(back.history->writes == 7);
  CHECK_FALSE(back.history->problem);
  REQUIRE(back.life);
  CHECK(back.life->ntp_port == 1123);
  CHECK(back.life->tls);
  CHECK(back.life->ntp_answered == 3);
  CHECK(back.life->tls_handshakes == 2);
  CHECK(back.life->tls_alerts == 4);
  CHECK(back.life->tls_failed == 0);
  REQUIRE(back.unknown.size() == 1);
  CHECK(back.unknown[0].ip == s.unknown[0].ip);
  CHECK(back.unknown[0].mac == s.unknown[0].mac);
  CHECK(back.unknown[0].sightings == s.unknown[0].sightings);
  CHECK(back.unknown[0].last_time == s.unknown[0].last.time);

  // No MQTT and NFLOG off are written as the reader expects them.
  s.mqtt.reset();
  s.nflog.reset();
  s.ntp.reset();
  s.tls = false;
  const auto j = status_json(s);
  CHECK(j["mqtt"].is_null());
  CHECK(j["sources"]["nflog"] == false);
  CHECK(j["sources"]["ntp"] == false);
  const auto off = read_status(j);
  CHECK_FALSE(off.mqtt);
  REQUIRE(off.sources);
  CHECK_FALSE(off.sources->nflog);
  REQUIRE(off.life);
  CHECK_FALSE(off.life->ntp_port);
  CHECK_FALSE(off.life->tls);
}
