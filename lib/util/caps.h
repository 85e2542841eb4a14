// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The two questions dashctl asks of Linux capabilities, without libcap: does this process
// have one, and are its children kept from inheriting them.

namespace dashctl::util {

/// Whether `cap` (CAP_NET_ADMIN, ...) is in this process's effective set.
bool has_capability(int cap);

/// Empties the ambient and inheritable sets, so that programs this process starts (exec
/// actions) get none of its capabilities: `dashctl run` given CAP_NET_ADMIN for the nflog
/// source (AmbientCapabilities= in systemd) keeps it to itself. Its own effective and
/// permitted sets stay. Idempotent; errors are ignored (there is nothing to drop then).
void keep_capabilities_from_children();

}  // namespace dashctl::util
