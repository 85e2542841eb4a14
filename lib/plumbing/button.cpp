// SPDX-License-Identifier: GPL-2.0-or-later
#include "plumbing/button.h"

#include <exception>

#include <spdlog/spdlog.h>

#include "config/load.h"
#include "config/store.h"
#include "daemon/control.h"
#include "nft/kernel.h"
#include "util/error.h"

namespace dashctl::plumbing {
namespace {

using util::Error;
using util::Exit;

class LiveHost final : public Host {
 public:
  bool setup_has_run() override { return nft::read_table("inet", "dashctl").has_value(); }
  Report apply_setup(const config::Config& c) override { return plumbing::apply_setup(c, plan_setup(c, resolve(c))); }
  bool reload_daemon(const std::string& control_socket) override {
    return daemon::ask(control_socket, "reload").has_value();
  }
};

/// Writes the change; returns what it did, for the message when a later step fails.
std::string write(const std::string& path, const ButtonEdit& edit, const std::string& verb, ButtonChange& out) {
  if (const auto* add = std::get_if<AddButton>(&edit)) {
    config::add_button(path, add->button, verb);
    out.file = config::button_file_for(path, add->button.name);
    return "saved button " + add->button.name + " in " + out.file;
  }
  if (const auto* remove = std::get_if<RemoveButton>(&edit)) {
    config::remove_button(path, remove->name);
    out.file = config::button_file_for(path, remove->name);
    return "removed button " + remove->name + " (" + out.file + ")";
  }
  const auto& rename = std::get<RenameButton>(edit);
  config::rename_button(path, rename.from, rename.to);
  out.file = config::button_file_for(path, rename.to);
  return "renamed button " + rename.from + " to " + rename.to + " (" + out.file + ")";
}

}  // namespace

Host& live_host() {
  static LiveHost host;
  return host;
}

ButtonChange button_changed(const std::string& config_path, const ButtonEdit& edit, const std::string& verb,
                            Host& host) {
  ButtonChange out;
  const std::string done = write(config_path, edit, verb, out);

  // remove_button and rename_button work on a config with problems, so that the file that
  // causes them can go; with problems left, neither setup nor a daemon would take it.
  auto checked = config::check(config_path);
  if (!checked.problems.empty()) {
    out.setup = ButtonChange::Setup::bad_config;
    out.problem = checked.problems.front().str();
    return out;
  }
  const auto& next = checked.config;

  try {
    bool has_run = false;
    try {
      has_run = host.setup_has_run();
    } catch (const Error& e) {
      if (e.code() != Exit::no_perm) throw;
      out.setup = ButtonChange::Setup::no_privilege;
    }
    if (has_run) {
      out.lines = host.apply_setup(next).lines;
      out.setup = ButtonChange::Setup::applied;
    }
  } catch (const Error& e) {
    // The change is written: say so, or the user makes it again and is told it is made.
    throw Error(e.code(), verb + ": " + done + ", but could not apply the setup: " + e.what(),
                e.hint().empty() ? "fix the cause, then run 'dashctl setup': it brings dnsmasq's leases and the "
                                   "firewall in step with the config"
                                 : e.hint());
  }

  try {
    out.daemon_reloaded = host.reload_daemon(next.daemon.control_socket);
  } catch (const std::exception& e) {
    spdlog::debug("{}: asking the daemon to reload: {}", verb, e.what());
  }
  return out;
}

}  // namespace dashctl::plumbing
