// SPDX-License-Identifier: GPL-2.0-or-later
// dashctl status: is the plumbing in place, and is it what the config wants?

#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "daemon/control.h"
#include "daemon/protocol.h"
#include "plumbing/plumbing.h"
#include "util/error.h"

namespace dashctl::cmd {
namespace {

std::string seconds_text(int64_t s) {
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

/// Microseconds as "6 us", "480 us", "3.3 ms" or "1.2 s".
std::string duration_text(double us) {
  char buf[32];
  if (us < 999.5)
    std::snprintf(buf, sizeof buf, "%.0f us", us);
  else if (us < 999500)
    std::snprintf(buf, sizeof buf, "%.1f ms", us / 1000);
  else
    std::snprintf(buf, sizeof buf, "%.1f s", us / 1e6);
  return buf;
}

}  // namespace

std::string battery_text(const daemon::ButtonHistory& h) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "~%.0f%%%s", h.battery, h.battery_low ? " low" : "");
  return buf;
}

namespace {

void print_daemon(const std::optional<daemon::StatusAnswer>& d, const std::string& problem, const std::string& socket) {
  if (!problem.empty()) {
    std::printf("listener: %s\n", problem.c_str());
    return;
  }
  if (!d) {
    std::printf("listener: not running (nothing answers on %s; start 'dashctl run')\n", socket.c_str());
    return;
  }
  auto count = [](unsigned long long n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::printf("listener: up %s on %s, pid %d: %s, %s, %s\n", seconds_text(d->uptime_s).c_str(), d->listen.c_str(),
              d->pid, count(d->connections, "connection", "connections").c_str(),
              count(d->presses, "press", "presses").c_str(),
              (std::to_string(d->unknown.size()) + (d->unknown.size() == 1 ? " unknown device" : " unknown devices")).c_str());
  if (d->mqtt) {
    const auto& m = *d->mqtt;
    std::printf("mqtt:     %s, %llu published, %llu queued, %llu dropped\n", m.connected ? "connected" : "disconnected",
                m.published, m.queued, m.dropped);
  }
  if (d->latency) {
    // The daemon's own time: per connection, from taking it to its sighting dispatched; per
    // press, from its first sighting to its actions started.
    auto figure = [](const daemon::StatusAnswer::Latency& l) -> std::string {
      if (l.count == 0) return "none yet";
      return duration_text(l.p50_us) + " median, " + duration_text(l.p99_us) + " p99, " + duration_text(l.max_us) +
             " max";
    };
    std::printf("latency:  per connection %s; per press %s\n", figure(d->latency->first).c_str(),
                figure(d->latency->second).c_str());
  }
  if (d->sources) {
    const auto& src = *d->sources;
    std::printf("sources:  connect, dhcp (%s), nflog (%s)\n", src.dhcp.c_str(),
                src.nflog ? ("group " + std::to_string(*src.nflog)).c_str()
                          : "off: no CAP_NET_ADMIN or group busy, see the log");
  }
  if (d->life) {
    const auto& l = *d->life;
    std::string tls = l.tls ? "tls on (" + count(l.tls_handshakes, "handshake", "handshakes") + ", " +
                                  std::to_string(l.tls_alerts) + " refused by the client, " +
                                  std::to_string(l.tls_failed) + " failed)"
                            : std::string("tls off");
    std::string ntp = l.ntp_port ? "ntp on port " + std::to_string(*l.ntp_port) + " (" +
                                       count(l.ntp_answered, "answer", "answers") + ")"
                                 : std::string("ntp off");
    std::printf("life:     %s, %s\n", tls.c_str(), ntp.c_str());
  }
  if (d->history && d->history->problem)
    std::printf("history:  not kept across restarts: %s\n", d->history->problem->c_str());
  // PRESSES: in total, across restarts (since this daemon started, from a daemon too old to
  // keep a history). SOURCES: every source that saw the latest press, the first (which fired
  // it) first. AWAKE: how long the latest press lasted as this host saw it, from its first
  // sighting to its last. BATTERY: the estimate from the awake time (dashctl.toml(5)).
  std::vector<std::vector<std::string>> rows{
      {"BUTTON", "PRESSES", "LAST PRESS", "SOURCES", "FROM", "AWAKE", "LAST SEEN", "BATTERY (EST.)"}};
  for (const auto& b : d->buttons) {
    std::string sources;
    for (const auto& src : b.press_sources) sources += (sources.empty() ? "" : ",") + src;
    const std::string awake =
        b.last_press && b.last_press_span_ms ? duration_text(*b.last_press_span_ms * 1000.0) : std::string("-");
    const auto& h = b.history;
    std::string last_press = b.last_press ? b.last_press->time : "-";
    if (!b.last_press && h && h->last_press) last_press = *h->last_press;
    rows.push_back({b.name, std::to_string(h ? h->presses : b.presses), last_press, b.last_press ? sources : "-",
                    b.last_press ? b.last_press->ip : "-", awake, h && h->last_seen ? *h->last_seen : "-",
                    h ? battery_text(*h) : "-"});
  }
  std::printf("\n");
  Globals plain;
  plain.no_color = true;
  print_table(plain, rows);
  for (const auto& u : d->unknown) {
    std::printf("unknown:  %s%s, %llu sighting%s, last %s\n", u.ip.c_str(), u.mac ? (" (" + *u.mac + ")").c_str() : "",
                u.sightings, u.sightings == 1 ? "" : "s", u.last_time.c_str());
  }
}

int run_status(const Globals& g) {
  const auto c = load_config(g);
  const auto s = plumbing::status(c);
  std::optional<nlohmann::json> daemon;
  std::optional<daemon::StatusAnswer> daemon_status;  // what the text prints
  std::string daemon_problem;
  auto state = plumbing::DaemonState::down;
  try {
    // Two seconds: a daemon working through a burst of events on a busy router answers after
    // it, and is not down.
    if (auto answer = daemon::ask(c.daemon.control_socket, "status", std::chrono::seconds(2))) {
      auto j = nlohmann::json::parse(*answer);
      auto answered = daemon::read_status(j);  // an answer that is no status is no daemon up
      daemon = std::move(j);
      if (!g.json) daemon_status = std::move(answered);
      state = plumbing::DaemonState::up;
    }
  } catch (const util::Error& e) {
    daemon_problem = e.what();
    // The socket is not this user's: whether a daemon runs is not known.
    if (e.code() == util::Exit::no_perm) state = plumbing::DaemonState::unknown;
  } catch (const std::exception& e) {
    daemon_problem = e.what();
  }
  const auto verdict = plumbing::judge(s, state);
  if (g.json) {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto p : verdict.problems) problems.push_back(plumbing::problem_name(p));
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : s.files) files.push_back({{"path", f.path}, {"state", f.state}});
    nlohmann::json j{
        {"ok", s.ok()},
        {"nftables", {{"readable", s.can_read_rules}, {"present", s.table_present},
                      {"current", s.table_present && s.table_differences.empty()},
                      {"differences", s.table_differences}}},
        {"files", files},
        {"dnsmasq", {{"running", s.dnsmasq_running ? nlohmann::json(*s.dnsmasq_running) : nlohmann::json()}}},
        {"warnings", s.warnings},
        {"daemon", daemon ? *daemon : nlohmann::json()},
        {"problems", problems},
        {"unchecked", verdict.unchecked},
        {"exit_status", verdict.exit_code()}};
    if (!daemon_problem.empty()) j["daemon_error"] = daemon_problem;
    std::puts(j.dump(2).c_str());
    return verdict.exit_code();
  }
  std::string table;
  if (!s.can_read_rules) table = "unknown: reading the firewall needs root (sudo dashctl status)";
  else if (!s.table_present) table = "missing: run 'dashctl setup'";
  else if (s.table_differences.empty()) table = "table inet dashctl is installed and current";
  else table = "table inet dashctl differs from the config: run 'dashctl setup'";
  std::printf("nftables: %s\n", table.c_str());
  for (const auto& d : s.table_differences) std::printf("          %s\n", d.c_str());
  std::printf("dnsmasq:  %s\n", !s.dnsmasq_running ? "unknown (reload is a command)"
                                : *s.dnsmasq_running ? "running" : "not running");
  for (size_t i = 0; i < s.files.size(); ++i)
    std::printf("%s%-8s %s\n", i == 0 ? "files:    " : "          ", s.files[i].state.c_str(), s.files[i].path.c_str());
  for (const auto& w : s.warnings) std::printf("warning:  %s\n", w.c_str());
  print_daemon(daemon_status, daemon_problem, c.daemon.control_socket);
  return verdict.exit_code();
}

}  // namespace

void setup_status(CLI::App& app, Globals& g, Action& action) {
  auto* sub = app.add_subcommand("status", "Show whether the plumbing is in place and current");
  sub->callback([&] { action = [&] { return run_status(g); }; });
}

}  // namespace dashctl::cmd
