// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// What every verb shares: the global options, output helpers, the config.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/model.h"
#include "daemon/protocol.h"

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
void setup_provision(CLI::App& app, Globals& globals, Action& action);
void setup_dhcp_event(CLI::App& app, Globals& globals, Action& action);
void setup_button(CLI::App& app, Globals& globals, Action& action);
void setup_config(CLI::App& app, Globals& globals, Action& action);
void setup_version(CLI::App& app, Globals& globals, Action& action);

/// What a press does, as flags: shared by `button add` and `learn`.
struct PressOptions {
  std::string window;
  std::vector<std::string> mqtt, exec, webhook;
};

/// Adds --window, --mqtt, --exec and --webhook to a verb.
void add_press_options(CLI::App* verb, PressOptions& o);

/// Sets the button's window and appends its actions from the flags. Throws
/// util::Error(Exit::usage) naming `verb` and the flag that is wrong.
void apply_press_options(const std::string& verb, const PressOptions& o, config::Button& b);

/// The config's path, once there is a file there. Throws util::Error(Exit::no_input) that
/// says how to start (setup writes one) when there is none.
std::string existing_config_path(const Globals& globals);

/// Loads the config named by the globals, throwing config::ConfigError when it is bad (and
/// as existing_config_path when there is none).
config::Config load_config(const Globals& globals);

/// A duration flag's value, where a bare number is seconds (util::parse_flag_duration).
/// Throws util::Error(Exit::usage) naming `verb` and `flag` unless it is from min to max.
std::chrono::milliseconds flag_duration(const std::string& verb, const std::string& flag, const std::string& value,
                                        std::chrono::milliseconds min, std::chrono::milliseconds max);

/// Tells the running daemon that button `name` has a new battery at `level` percent (the
/// control request `battery`), as `button battery --replaced` and `provision` do. Throws
/// util::Error(Exit::unavailable) when no daemon answers, or when it refuses.
void give_battery(const config::Config& c, const std::string& name, int level);

/// A button's battery estimate as status and button show print it: "~87%", "~20% low".
std::string battery_text(const daemon::ButtonHistory& h);

/// Left-aligned columns, two spaces apart; the first row is a header, bold on a TTY.
void print_table(const Globals& globals, const std::vector<std::vector<std::string>>& rows);

}  // namespace dashctl::cmd
