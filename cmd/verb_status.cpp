// dashctl status: is the plumbing in place, and is it what the config wants?

#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "plumbing/plumbing.h"

namespace dashctl::cmd {
namespace {

int run_status(const Globals& g) {
  const auto c = load_config(g);
  const auto s = plumbing::status(c);
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
        {"warnings", s.warnings}};
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
  return 0;
}

}  // namespace

void setup_status(CLI::App& app, Globals& g, Action& action) {
  auto* sub = app.add_subcommand("status", "Show whether the plumbing is in place and current");
  sub->callback([&] { action = [&] { return run_status(g); }; });
}

}  // namespace dashctl::cmd
