#pragma once
// The kernel's neighbour (ARP) table, through libnl-route: the one file that includes libnl.

#include <optional>
#include <string>

#include "util/net.h"

namespace dashctl::netlink {

/// The MAC of `ip` on interface `iface` from the kernel's neighbour table, when it has a
/// usable entry (REACHABLE, STALE, DELAY, PROBE or PERMANENT, with a link-layer address).
/// Needs no privileges. Throws util::Error (Exit::os) when netlink itself fails.
std::optional<util::Mac> neighbour_mac(util::Ipv4 ip, const std::string& iface);

}  // namespace dashctl::netlink
