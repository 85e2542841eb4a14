// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "util/net.h"

namespace dashctl::util {

/// An interface's first IPv4 address and its network.
struct InterfaceAddress {
  Ipv4 address;
  Ipv4Prefix subnet;
};

/// Whether the interface exists in this network namespace.
bool interface_exists(const std::string& name);

/// The interface's IPv4 addresses, first one first; empty when it has none (or does not exist).
std::vector<InterfaceAddress> interface_ipv4(const std::string& name);

}  // namespace dashctl::util
