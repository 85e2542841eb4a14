// SPDX-License-Identifier: GPL-2.0-or-later
// dashctl version: what this binary is, its licence, and what it was built with.

#include <cstdio>

#include <CLI/Version.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <spdlog/version.h>
#include <toml++/toml.h>

#include "cli.h"

namespace dashctl::cmd {
namespace {

/// dashctl's licence (LICENSE), as an SPDX expression.
constexpr const char* kLicense = "GPL-2.0-or-later";

std::vector<std::pair<std::string, std::string>> libraries() {
  return {
      {"libnftnl", DASHCTL_LIBNFTNL_VERSION},
      {"libmnl", DASHCTL_LIBMNL_VERSION},
      {"libnl-route", DASHCTL_LIBNL_VERSION},
      {"libmosquitto", DASHCTL_LIBMOSQUITTO_VERSION},
      {"Boost", DASHCTL_BOOST_VERSION},
      {"OpenSSL", DASHCTL_OPENSSL_VERSION},
      {"CLI11", CLI11_VERSION},
      {"toml++", fmt::format("{}.{}.{}", TOML_LIB_MAJOR, TOML_LIB_MINOR, TOML_LIB_PATCH)},
      {"spdlog", fmt::format("{}.{}.{}", SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH)},
      {"fmt", fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100)},
      {"nlohmann-json", fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR,
                                    NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH)},
  };
}

int run_version(const Globals& g) {
  const auto libs = libraries();
  if (g.json) {
    nlohmann::json j{{"version", DASHCTL_VERSION},
                     {"license", kLicense},
                     {"libraries", nlohmann::json::object()}};
    for (const auto& [name, version] : libs) j["libraries"][name] = version;
    std::puts(j.dump(2).c_str());
    return 0;
  }
  std::printf("dashctl %s\n", DASHCTL_VERSION);
  std::printf("License %s: GNU GPL version 2 or later; no warranty.\n", kLicense);
  std::printf("Built with:\n");
  for (const auto& [name, version] : libs) std::printf("  %-14s %s\n", name.c_str(), version.c_str());
  return 0;
}

}  // namespace

void setup_version(CLI::App& app, Globals& g, Action& action) {
  auto* sub = app.add_subcommand("version", "Show the version and the libraries it was built with");
  sub->callback([&] { action = [&] { return run_version(g); }; });
}

}  // namespace dashctl::cmd
