// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The kernel's neighbour (ARP) table, through libnl-route: the one file that includes libnl.

#include <memory>
#include <optional>
#include <string>

#include "util/net.h"

struct nl_sock;

namespace dashctl::netlink {

/// Asks the kernel's neighbour table, over one netlink socket kept open between questions
/// (the daemon asks once per connection to its listener). Not thread-safe. The socket
/// belongs to the network namespace the object was first used in.
class NeighbourTable {
 public:
  NeighbourTable();
  ~NeighbourTable();
  NeighbourTable(const NeighbourTable&) = delete;
  NeighbourTable& operator=(const NeighbourTable&) = delete;

  /// The MAC of `ip` on interface `iface` when the kernel has a usable entry (REACHABLE,
  /// STALE, DELAY, PROBE or PERMANENT, with a link-layer address). Needs no privileges.
  /// Throws util::Error (Exit::os) when netlink itself fails; the next call starts over
  /// with a new socket.
  std::optional<util::Mac> mac(util::Ipv4 ip, const std::string& iface);

 private:
  struct Socket;
  std::unique_ptr<Socket> socket_;  ///< connected on first use, dropped after an error
  std::string iface_;               ///< the interface last asked about, and its index
  unsigned ifindex_ = 0;
};

/// One question to a NeighbourTable of its own: a new socket each time.
std::optional<util::Mac> neighbour_mac(util::Ipv4 ip, const std::string& iface);

}  // namespace dashctl::netlink
