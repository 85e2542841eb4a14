#pragma once
// What every verb shares: the global options, output helpers, the config.

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/model.h"

namespace dashctl::cmd {

/// The global options, valid before or after the verb.
struct Globals {
  std::string config;  ///< -c/--config; empty: config::default_path()
  int verbose = 0;     ///< -v, repeatable
  bool quiet = false;  ///< -q
  bool json = false;   ///< --json
  bool no_color = false;

  std::string config_path() const;
  /// Colour on this stream: a TTY, no --no-color, no $NO_COLOR.
  bool color(FILE* stream) const;
};

/// The work a parsed verb does; returns the exit code. Errors are thrown as util::Error.
using Action = std::function<int()>;

/// Adds a verb to `app`. When the command line selects it, `action` is set.
using VerbSetup = void (*)(CLI::App& app, Globals& globals, Action& action);

void setup_setup(CLI::App& app, Globals& globals, Action& action);
void setup_status(CLI::App& app, Globals& globals, Action& action);
void setup_run(CLI::App& app, Globals& globals, Action& action);
void setup_learn(CLI::App& app, Globals& globals, Action& action);
void setup_dhcp_event(CLI::App& app, Globals& globals, Action& action);
void setup_button(CLI::App& app, Globals& globals, Action& action);
void setup_config(CLI::App& app, Globals& globals, Action& action);
void setup_version(CLI::App& app, Globals& globals, Action& action);

/// Loads the config named by the globals, throwing config::ConfigError when it is bad.
config::Config load_config(const Globals& globals);

/// Left-aligned columns, two spaces apart; the first row is a header, bold on a TTY.
void print_table(const Globals& globals, const std::vector<std::vector<std::string>>& rows);

}  // namespace dashctl::cmd
