// dashctl status: is the plumbing in place, and is it what the config wants?

#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "daemon/control.h"
#include "plumbing/plumbing.h"

namespace dashctl::cmd {
namespace {

std::string seconds_text(int64_t s) {
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

void print_daemon(const std::optional<nlohmann::json>& d, const std::string& problem, const std::string& socket) {
  if (!problem.empty()) {
    std::printf("listener: %s\n", problem.c_str());
    return;
  }
  if (!d) {
    std::printf("listener: not running (nothing answers on %s; start 'dashctl run')\n", socket.c_str());
    return;
  }
  const auto& k = (*d)["counters"];
  auto count = [&](const char* key, const char* one, const char* many) {
    const auto n = k[key].get<unsigned long long>();
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::printf("listener: up %s on %s, pid %d: %s, %s, %s\n", seconds_text((*d)["uptime_s"].get<int64_t>()).c_str(),
              (*d)["listen"].get<std::string>().c_str(), (*d)["pid"].get<int>(),
              count("connections", "connection", "connections").c_str(), count("presses", "press", "presses").c_str(),
              (std::to_string((*d)["unknown"].size()) + ((*d)["unknown"].size() == 1 ? " unknown device" : " unknown devices")).c_str());
  if (!(*d)["mqtt"].is_null()) {
    const auto& m = (*d)["mqtt"];
    std::printf("mqtt:     %s, %llu published, %llu queued, %llu dropped\n",
                m["connected"].get<bool>() ? "connected" : "disconnected", m["published"].get<unsigned long long>(),
                m["queued"].get<unsigned long long>(), m["dropped"].get<unsigned long long>());
  }
  if (d->contains("sources")) {
    const auto& src = (*d)["sources"];
    std::printf("sources:  connect, dhcp (%s), nflog (%s)\n", src["dhcp"].get<std::string>().c_str(),
                src["nflog"].is_number() ? ("group " + std::to_string(src["nflog"].get<int>())).c_str()
                                         : "off: no CAP_NET_ADMIN or group busy, see the log");
  }
  // SOURCES: every source that saw the latest press, the first (which fired it) first.
  std::vector<std::vector<std::string>> rows{{"BUTTON", "PRESSES", "LAST PRESS", "SOURCES", "FROM"}};
  for (const auto& b : (*d)["buttons"]) {
    const auto& last = b["last_press"];
    std::string sources;
    for (const auto& src : b.value("press_sources", nlohmann::json::array()))
      sources += (sources.empty() ? "" : ",") + src.get<std::string>();
    rows.push_back({b["name"].get<std::string>(), std::to_string(b["presses"].get<unsigned long long>()),
                    last.is_null() ? "-" : last["time"].get<std::string>(),
                    last.is_null() ? "-" : sources,
                    last.is_null() ? "-" : last["ip"].get<std::string>()});
  }
  std::printf("\n");
  Globals plain;
  plain.no_color = true;
  print_table(plain, rows);
  for (const auto& u : (*d)["unknown"]) {
    const auto n = u["sightings"].get<unsigned long long>();
    std::printf("unknown:  %s%s, %llu sighting%s, last %s\n", u["ip"].get<std::string>().c_str(),
                u["mac"].is_null() ? "" : (" (" + u["mac"].get<std::string>() + ")").c_str(), n, n == 1 ? "" : "s",
                u["last"]["time"].get<std::string>().c_str());
  }
}

int run_status(const Globals& g) {
  const auto c = load_config(g);
  const auto s = plumbing::status(c);
  std::optional<nlohmann::json> daemon;
  std::string daemon_problem;
  try {
    if (auto answer = daemon::ask(c.daemon.control_socket, "status")) daemon = nlohmann::json::parse(*answer);
  } catch (const std::exception& e) {
    daemon_problem = e.what();
  }
  if (g.json) {
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
        {"daemon", daemon ? *daemon : nlohmann::json()}};
    if (!daemon_problem.empty()) j["daemon_error"] = daemon_problem;
    std::puts(j.dump(2).c_str());
    return 0;
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
  print_daemon(daemon, daemon_problem, c.daemon.control_socket);
  return 0;
}

}  // namespace

void setup_status(CLI::App& app, Globals& g, Action& action) {
  auto* sub = app.add_subcommand("status", "Show whether the plumbing is in place and current");
  sub->callback([&] { action = [&] { return run_status(g); }; });
}

}  // namespace dashctl::cmd
