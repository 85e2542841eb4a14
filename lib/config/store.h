// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Writing buttons. Each button dashctl manages has its own file, buttons.d/<name>.toml,
// so dashctl never rewrites a file a person edits. Every write is atomic and taken under
// the config directory's lock.

#include <string>

#include "config/model.h"

namespace dashctl::config {

/// What `setup --iot-interface ...` knows for a first config; empty fields are left to
/// their defaults.
struct Starter {
  std::string iot_interface, listen_address, subnet, lease_range, mqtt_url, conf_dir, state_dir, reload;
  int listen_port = 0;
};

/// Writes a starter config at `path`, which must not exist yet. The text is parsed before it
/// is written, so a bad flag leaves no file; throws util::Error (Exit::usage) saying which.
void write_starter(const std::string& path, const Starter& s);

/// The text of a button's own file.
std::string render_button_file(const Button& b);

/// Saves a new button as buttons.d/<name>.toml. Throws util::Error (Exit::data), its
/// message starting with `verb`, when the name, MAC or address is taken or the result
/// would not be a valid config.
void add_button(const std::string& config_path, const Button& b, const std::string& verb = "button add");

/// The checks of add_button without the write: for a button whose MAC is not known yet,
/// so that `learn` refuses bad flags before anyone presses anything.
void check_new_button(const std::string& config_path, const Button& b, const std::string& verb);

/// Removes buttons.d/<name>.toml. A button written inline in the main file is left
/// alone with an error saying where it is.
void remove_button(const std::string& config_path, const std::string& name);

/// Renames buttons.d/<from>.toml to <to>.toml.
void rename_button(const std::string& config_path, const std::string& from,
                   const std::string& to);

}  // namespace dashctl::config
