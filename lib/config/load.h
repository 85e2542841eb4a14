// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Reading the config from disk: the main file, then buttons.d/*.toml beside it.

#include <string>
#include <vector>

#include "config/model.h"
#include "util/error.h"

namespace dashctl::config {

/// $DASHCTL_CONFIG, else /etc/dashctl/dashctl.toml.
std::string default_path();

/// <directory of the main file>/buttons.d
std::string buttons_dir_for(const std::string& config_path);

/// The file a button of that name has in buttons.d.
std::string button_file_for(const std::string& config_path, const std::string& name);

/// A config with problems, carrying all of them; what() is the first.
class ConfigError : public util::Error {
 public:
  explicit ConfigError(std::vector<Diagnostic> problems);
  const std::vector<Diagnostic>& problems() const noexcept { return problems_; }

 private:
  std::vector<Diagnostic> problems_;
};

struct Checked {
  Config config;
  std::vector<Diagnostic> problems;  ///< empty: the config is good
  std::vector<Diagnostic> warnings;  ///< said, but the config is good all the same
};

/// The most a config file (the main file or a button's) may hold.
inline constexpr size_t kMaxConfigFile = 1u << 20;

/// Reads, parses and validates everything, including the permission rules: a file with
/// exec actions, or a directory buttons can be added to, must be writable only by its
/// owner, and that owner must be root or the current user. Throws util::Error when the
/// main file cannot be read at all (Exit::no_input when it does not exist).
Checked check(const std::string& path);

/// check(), throwing ConfigError unless the config is good; its warnings are logged.
Config load(const std::string& path);

}  // namespace dashctl::config
