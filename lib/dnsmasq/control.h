#pragma once
// Telling the running dnsmasq about dashctl's files, the way the config's
// dnsmasq.reload says: a pid file, a systemd unit, or a command.

#include <optional>

#include "config/model.h"

namespace dashctl::dnsmasq {

/// What dnsmasq must do to see a change. A reload (SIGHUP) re-reads the addn-hosts and
/// dhcp-hostsfile files; only a restart reads the config, and so the drop-in, again.
enum class Refresh { reload, restart };

/// Reloads or restarts dnsmasq:
///  - pidfile: SIGHUP to the pid in the file; a restart stops that process (SIGTERM,
///    SIGKILL after 5 s), starts its command line again and waits up to 5 s for the pid
///    file to name a new live process;
///  - systemctl: `systemctl reload|restart UNIT`;
///  - command: the configured argv with `reload` or `restart` appended.
/// Throws util::Error (Exit::unavailable) when dnsmasq is not running or a command fails.
void refresh(const config::Reload& how, Refresh what);

/// Whether dnsmasq runs: a live pid in the pid file, or `systemctl is-active` for the
/// unit. nullopt when it cannot be told (a reload command, systemctl missing).
std::optional<bool> running(const config::Reload& how);

}  // namespace dashctl::dnsmasq
