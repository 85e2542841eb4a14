// SPDX-License-Identifier: GPL-2.0-or-later
// dashctl config check: every problem of the config, as file:line:col: message.

#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "config/load.h"

namespace dashctl::cmd {
namespace {

int run_check(const Globals& g) {
  const auto checked = config::check(g.config_path());
  const auto& c = checked.config;
  if (g.json) {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& p : checked.problems)
      problems.push_back({{"file", p.where.file}, {"line", p.where.line},
                          {"column", p.where.column}, {"message", p.message}});
    nlohmann::json warnings = nlohmann::json::array();
    for (const auto& w : checked.warnings)
      warnings.push_back({{"file", w.where.file}, {"line", w.where.line}, {"column", w.where.column},
                          {"message", w.message}});
    const nlohmann::json j{{"config", c.path}, {"ok", checked.problems.empty()},
                           {"buttons", c.buttons.size()}, {"problems", problems}, {"warnings", warnings}};
    std::puts(j.dump(2).c_str());
  } else {
    // Compiler style, without a "dashctl:" prefix, so editors can jump to each line.
    for (const auto& p : checked.problems) std::fprintf(stderr, "%s\n", p.str().c_str());
    for (const auto& w : checked.warnings) std::fprintf(stderr, "%s (warning)\n", w.str().c_str());
    if (checked.problems.empty()) {
      std::printf("%s: OK, %zu button%s\n", c.path.c_str(), c.buttons.size(),
                  c.buttons.size() == 1 ? "" : "s");
    } else {
      std::fprintf(stderr, "%zu problem%s found\n", checked.problems.size(),
                   checked.problems.size() == 1 ? "" : "s");
    }
  }
  return checked.problems.empty() ? 0 : static_cast<int>(util::Exit::data);
}

}  // namespace

void setup_config(CLI::App& app, Globals& g, Action& action) {
  auto* sub = app.add_subcommand("config", "Work with the config file");
  sub->require_subcommand(1);
  auto* check = sub->add_subcommand("check", "Validate the config and its file permissions");
  check->callback([&] { action = [&] { return run_check(g); }; });
}

}  // namespace dashctl::cmd
