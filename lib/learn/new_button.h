// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The button `dashctl learn` saves for the device it found: its name, its MAC and a static
// address that nothing else on the network holds.

#include <string>

#include "config/model.h"
#include "util/net.h"

namespace dashctl::learn {

/// A button named `name` (empty: free_name(c)) with the MAC, and the address
/// next_free_address gives it, counting as taken what dnsmasq's lease file
/// (dnsmasq.leases_file) holds and the listen address, also where the config leaves it to
/// the interface. An unreadable lease file, or an interface without an address, leaves out
/// what it would have said: dnsmasq refuses a taken address anyway. No address (nullopt)
/// when the range has none free, or the config has no lease_range. The actions are left to
/// the caller.
config::Button new_button(const config::Config& c, const util::Mac& mac, const std::string& name);

}  // namespace dashctl::learn
