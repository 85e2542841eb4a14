// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Telling the running dnsmasq about dashctl's files, the way the config's
// dnsmasq.reload says: a pid file, a systemd unit, or a command.

#include <optional>
#include <string>
#include <string_view>

#include "config/model.h"

namespace dashctl::dnsmasq {

/// What dnsmasq must do to see a change. A reload (SIGHUP) re-reads the addn-hosts and
/// dhcp-hostsfile files; only a restart reads the config, and so the drop-in, again.
enum class Refresh { reload, restart };

/// Reloads or restarts dnsmasq:
///  - pidfile: SIGHUP to the pid in the file; a restart stops that process (SIGTERM,
///    SIGKILL after 5 s), starts its command line again and waits up to 5 s for the pid
///    file to name a new live process. When systemd runs dnsmasq (its cgroup is a
///    dnsmasq*.service unit), a restart is `systemctl restart UNIT` instead, so that
///    dnsmasq stays in its own service and not in whatever ran setup;
///  - systemctl: `systemctl reload|restart UNIT`;
///  - command: the configured argv with `reload` or `restart` appended.
/// Throws util::Error (Exit::unavailable) when dnsmasq is not running or a command fails.
void refresh(const config::Reload& how, Refresh what);

/// The systemd service a process belongs to, from the text of /proc/PID/cgroup (v2 or v1's
/// name=systemd line), when it is dnsmasq's own: "dnsmasq.service", "dnsmasq@lan.service".
/// nullopt for any other unit or none, so that nothing else is ever restarted.
std::optional<std::string> dnsmasq_unit_of(std::string_view cgroup);

/// Whether dnsmasq runs: a live pid in the pid file, or `systemctl is-active` for the
/// unit. nullopt when it cannot be told (a reload command, systemctl missing).
std::optional<bool> running(const config::Reload& how);

}  // namespace dashctl::dnsmasq
