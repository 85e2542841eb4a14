// SPDX-License-Identifier: GPL-2.0-or-later
#include "learn/new_button.h"

#include "learn/learn.h"
#include "plumbing/plumbing.h"
#include "util/error.h"
#include "util/fs.h"

namespace dashctl::learn {

config::Button new_button(const config::Config& c, const util::Mac& mac, const std::string& name) {
  config::Button b;
  b.name = name.empty() ? free_name(c) : name;
  b.mac = mac;
  std::string leases;
  try {
    leases = util::read_file(c.dnsmasq.leases_file).value_or("");
  } catch (const util::Error&) {
    // Unreadable: choose among what the config knows.
  }
  // The listen address is not free for a button, also where the config leaves it to the interface.
  config::Config with_address = c;
  if (!with_address.network.listen_address) {
    try {
      with_address.network.listen_address = plumbing::resolve(c).listen_address;
    } catch (const util::Error&) {
      // No interface or no address: there is no listen address to keep free.
    }
  }
  b.ip = next_free_address(with_address, mac, leases);
  return b;
}

}  // namespace dashctl::learn
