// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A button changed: `button add`, `button remove`, `button rename` and `learn` write the
// config, bring the plumbing in step where setup has run (the static lease in dnsmasq's
// dhcp-hosts file, the table's rules for the button's MAC), and tell a running daemon to
// reload. One function, so that every command that changes a button does all of it alike.

#include <string>
#include <variant>
#include <vector>

#include "config/model.h"
#include "plumbing/plumbing.h"

namespace dashctl::plumbing {

/// A new button, written to buttons.d/NAME.toml.
struct AddButton {
  config::Button button;
};
/// A button's own file, deleted.
struct RemoveButton {
  std::string name;
};
/// A button's own file, renamed.
struct RenameButton {
  std::string from, to;
};
using ButtonEdit = std::variant<AddButton, RemoveButton, RenameButton>;

/// What button_changed did after writing the config.
struct ButtonChange {
  enum class Setup {
    applied,       ///< setup had run, and was applied again for the new config
    not_set_up,    ///< setup has not run (no table inet dashctl): there is nothing to bring in step
    no_privilege,  ///< without CAP_NET_ADMIN, whether setup has run cannot be seen: nothing applied
    bad_config,    ///< the config has problems after the change (a remove or rename can leave them):
                   ///< nothing applied, no daemon asked
  };
  /// The button's own file: the one written (add), deleted (remove), or renamed to (rename).
  std::string file;
  Setup setup = Setup::not_set_up;
  /// For `applied`: setup's report, one line each.
  std::vector<std::string> lines;
  /// For `bad_config`: the config's first problem, "file:line:col: message".
  std::string problem;
  /// A running daemon answered the request to reload its config.
  bool daemon_reloaded = false;
};

/// What button_changed asks of the machine. live_host() reads nftables, applies the setup
/// and asks the daemon's control socket; tests give a fake.
class Host {
 public:
  virtual ~Host() = default;
  /// Whether setup has run: the table inet dashctl is there. Throws util::Error,
  /// Exit::no_perm without CAP_NET_ADMIN.
  virtual bool setup_has_run() = 0;
  /// resolve(), plan_setup() and apply_setup() for the config.
  virtual Report apply_setup(const config::Config& c) = 0;
  /// Asks a daemon listening on the control socket to reload its config: false when none
  /// listens there. Throws util::Error when one answers badly or not in time.
  virtual bool reload_daemon(const std::string& control_socket) = 0;
};

/// The machine itself.
Host& live_host();

/// Writes the change (as config::add_button, remove_button or rename_button do, with their
/// errors), then, when the config is free of problems:
/// 1. when setup has run, applies it again for the new config, as `dashctl setup` does (a
///    reload of dnsmasq, a restart only when its drop-in changed too); without the privilege
///    to see whether it has run, nothing is applied;
/// 2. asks a running daemon to reload its config; a failure to ask is logged at debug level
///    and costs nothing else.
/// The change stays written whatever follows it: when applying the setup fails, the
/// util::Error thrown (with the cause's exit code) says so, "VERB: saved button NAME in
/// FILE, but could not apply the setup: ...", with a hint to fix the cause and run
/// `dashctl setup`; the daemon is then not asked. `verb` starts every message ("learn",
/// "button add"...).
ButtonChange button_changed(const std::string& config_path, const ButtonEdit& edit, const std::string& verb,
                            Host& host = live_host());

}  // namespace dashctl::plumbing
