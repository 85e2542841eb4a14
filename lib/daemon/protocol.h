// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The control socket's protocol, both sides, without any I/O: what the daemon makes of the
// bytes a client sends (one request line), and what `dashctl status` makes of the daemon's
// answer to "status". Pure, and fuzzed (tests/fuzz/fuzz_control.cpp).
//
// A client connects, writes one line ("ping", "status" or "reload", then '\n') and reads one
// line of JSON back; the daemon then closes the connection.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace dashctl::daemon {

/// The most the daemon reads of a connection, the '\n' included: a request is one short
/// line, so a line of 255 bytes is the longest one it takes.
inline constexpr size_t kMaxRequest = 256;

enum class Request {
  incomplete,  ///< no '\n' yet, fewer than kMaxRequest bytes: read more (at end of input,
               ///< an error or the deadline: close without an answer)
  too_long,    ///< no '\n' in the first kMaxRequest bytes: close without an answer
  ping,        ///< answered {"ok":true}
  status,      ///< answered with the status object
  reload,      ///< answered {"ok":true}, then the config is reloaded as on SIGHUP
  battery,     ///< "battery NAME LEVEL": a new battery in NAME at LEVEL percent (1-100); answered
               ///< {"ok":true} or {"error":"..."}
  unknown,     ///< any other line: answered {"error":"unknown request"}
};

/// What the daemon makes of the bytes read so far on a control connection (it never reads
/// more than kMaxRequest). The request is the line before the first '\n', matched exactly:
/// a '\r' before the '\n' (CRLF), a NUL, a space, extra words, another case or an empty line
/// make it unknown. Bytes after the first '\n' are ignored.
Request parse_request(std::string_view received);

/// A "battery NAME LEVEL" request: NAME a button's name, LEVEL 1 to 100 in decimal digits.
struct BatteryRequest {
  std::string button;
  int level = 100;
};
/// The request line of `received` as a battery request, or nullopt when it is not one.
std::optional<BatteryRequest> parse_battery(std::string_view received);
/// The request line a client sends for it (daemon::ask adds the '\n').
std::string battery_request(const BatteryRequest& r);

/// The daemon's one-line answers other than the status object (without the '\n').
inline constexpr std::string_view kAnswerOk = R"({"ok":true})";
inline constexpr std::string_view kAnswerUnknown = R"({"error":"unknown request"})";
/// To a client past ControlServer::kMaxClients: try again shortly.
inline constexpr std::string_view kAnswerBusy = R"({"error":"busy"})";

/// One of the daemon's latency histograms, as the status answer gives it.
struct LatencyFigure {
  unsigned long long count = 0;
  double p50_us = 0, p99_us = 0, max_us = 0;
};

/// A button's history as the status answer gives it (both ways): kept across restarts.
struct ButtonHistory {
  uint64_t presses = 0;                       ///< in total, not only since the daemon started
  std::optional<std::string> last_press;      ///< ISO 8601 UTC
  std::optional<std::string> last_seen;       ///< any sighting, ISO 8601 UTC
  double awake_s = 0;                         ///< estimated, all presses
  double battery = 100;                       ///< the estimate, percent, to a tenth
  std::optional<std::string> battery_since;   ///< when the battery was replaced, if said
  int64_t battery_capacity_s = 0;
  unsigned battery_warning = 0;               ///< percent; 0: never warns
  bool battery_low = false;
  bool operator==(const ButtonHistory&) const = default;
};

/// Where the history is kept, and how that goes.
struct HistoryFile {
  std::string path;
  uint64_t writes = 0, write_errors = 0;
  std::optional<std::string> problem;  ///< why it is not kept on disk
};

/// All the daemon says in its answer to "status" (`dashctl status --json` prints it as it
/// is). status_json() writes it; read_status() reads back what `dashctl status` prints.
struct Status {
  struct Sighting {
    std::string source, ip;
    std::optional<std::string> mac;  ///< null in the JSON when unknown
    std::string time;                ///< ISO 8601 UTC, seconds
  };
  struct Counters {
    uint64_t connections = 0, busy = 0, open_connections = 0, sightings = 0, presses = 0, unknown = 0,
             actions_ok = 0, actions_failed = 0, actions_running = 0, dhcp_events = 0, bad_datagrams = 0,
             events_outside = 0, unknown_suppressed = 0,
             nflog_packets = 0, nflog_malformed = 0, ntp_answered = 0, ntp_ignored = 0, tls_handshakes = 0,
             tls_alerts = 0, tls_failed = 0, tls_capped = 0;
  };
  struct Button {
    std::string name;
    uint64_t presses = 0, sightings = 0;
    std::optional<Sighting> last_press;
    /// The latest press's sources, first first; nullopt (left out) for a button not seen yet.
    std::optional<std::vector<std::string>> press_sources;
    /// The latest press's span, from its first sighting to its last: how long the button
    /// was awake, as far as this host saw. Left out with press_sources.
    std::optional<double> last_press_span_ms;
    ButtonHistory history;
  };
  struct Unknown {
    std::string ip;
    std::optional<std::string> mac;
    uint64_t sightings = 0;
    Sighting last;
  };
  struct Mqtt {
    bool connected = false;
    uint64_t published = 0, queued = 0, dropped = 0;
  };
  int pid = 0;
  std::string version, config, started;  ///< started: ISO 8601 UTC
  int64_t uptime_s = 0;
  std::string listen;  ///< "address:port"
  Counters counters;
  std::string event_socket;   ///< sources.dhcp
  std::optional<int> nflog;   ///< sources.nflog: the group, or false when the source is off
  uint64_t nflog_lost = 0;
  std::optional<int> ntp;     ///< sources.ntp: the NTP responder's port, or false when it is off
  bool tls = false;           ///< sources.tls: the TLS endpoint is on
  LatencyFigure accept_to_dispatch, press_to_action;
  std::optional<Mqtt> mqtt;  ///< null: no MQTT configured
  HistoryFile history;
  std::vector<Button> buttons;
  std::vector<Unknown> unknown;
};

/// The answer to "status", as the daemon sends it (one line once dumped).
nlohmann::json status_json(const Status& s);

/// The daemon's answer to "status", as much of it as `dashctl status` prints.
struct StatusAnswer {
  struct Mqtt {
    bool connected = false;
    unsigned long long published = 0, queued = 0, dropped = 0;
  };
  struct Sources {
    std::string dhcp;            ///< the event socket's path
    std::optional<int> nflog;    ///< the NFLOG group, or nullopt when the source is off
  };
  struct Press {
    std::string time, ip;
  };
  /// One of the daemon's latency histograms (status --json, "latency").
  using Latency = LatencyFigure;
  struct Button {
    std::string name;
    unsigned long long presses = 0;
    std::optional<Press> last_press;
    std::vector<std::string> press_sources;  ///< the sources that saw the last press, first first
    std::optional<double> last_press_span_ms;  ///< nullopt: not seen, or a daemon too old to say
    std::optional<ButtonHistory> history;      ///< nullopt: a daemon too old to say
  };
  struct Unknown {
    std::string ip;
    std::optional<std::string> mac;
    unsigned long long sightings = 0;
    std::string last_time;
  };
  int pid = 0;
  int64_t uptime_s = 0;
  std::string listen;
  unsigned long long connections = 0, presses = 0;
  std::optional<Mqtt> mqtt;        ///< nullopt: no MQTT configured
  std::optional<Sources> sources;  ///< nullopt: a daemon too old to say
  /// Button life (NTP answers; TLS handshakes completed, refused by the client, failed);
  /// nullopt: a daemon too old to say.
  struct ButtonLife {
    std::optional<int> ntp_port;
    bool tls = false;
    unsigned long long ntp_answered = 0, tls_handshakes = 0, tls_alerts = 0, tls_failed = 0;
  };
  std::optional<ButtonLife> life;
  std::optional<HistoryFile> history;  ///< nullopt: a daemon too old to say
  /// Per connection and per press; nullopt: a daemon too old to say.
  std::optional<std::pair<Latency, Latency>> latency;
  std::vector<Button> buttons;
  std::vector<Unknown> unknown;
};

/// Reads what `dashctl status` prints from the daemon's (parsed) answer. Throws util::Error
/// (Exit::unavailable) when a field it needs is missing or of the wrong type, never anything
/// else.
StatusAnswer read_status(const nlohmann::json& answer);

}  // namespace dashctl::daemon
