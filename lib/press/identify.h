// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Who pressed: a sighting's address (and MAC, where the source knows it) to a button.
// The MAC comes from the kernel's neighbour table first, then dnsmasq's lease file; the
// button is found by MAC first, then by its static address.

#include <sys/types.h>

#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "util/net.h"

namespace dashctl::press {

/// The MAC dnsmasq's lease file (`dhcp-leasefile`, lines "EXPIRY MAC IP HOST CLIENTID")
/// holds for `ip`, from the file's text. Malformed lines are skipped. Pure.
std::optional<util::Mac> mac_from_leases(std::string_view lease_file_text, util::Ipv4 ip);

/// dnsmasq's lease file, kept in memory and read again only when it changed, so that a
/// question costs one stat(2). Changed means another file, size, modification or change
/// time; a file that was modified less than 2 s before it was read is read again on the
/// next question too, since a second write within the file system's timestamp granularity
/// could keep all four.
class LeaseFile {
 public:
  /// The MAC the file at `path` holds for `ip` (see mac_from_leases); nullopt when the file
  /// does not exist. Throws util::Error when it cannot be read.
  std::optional<util::Mac> mac(const std::string& path, util::Ipv4 ip);

  /// How many times the file was read, for tests.
  unsigned long reads() const { return reads_; }

 private:
  struct Key {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    timespec mtime{}, ctime{};
    bool operator==(const Key& o) const;
  };
  std::string path_;
  std::optional<Key> key_;  ///< of the text held; nullopt: read again
  std::string text_;
  unsigned long reads_ = 0;
};

/// Which button of the config a device is, from its MAC (when known) and its address. Pure.
/// By MAC first. By address only when no MAC is known, or when the button at that address
/// has no MAC in the config: a known MAC that is not the MAC of the button at the address
/// is another device (nullptr; `*contradicted`, when given, is set to that button).
/// 0.0.0.0 (a DHCP request) names no button by address.
const config::Button* match(const config::Config& config, const std::optional<util::Mac>& mac, util::Ipv4 ip,
                            const config::Button** contradicted = nullptr);

/// Who a sighting came from, complete: what the press event, the actions and the MQTT
/// message all use.
struct Identity {
  const config::Button* button = nullptr;  ///< nullptr: an unknown device
  /// The device's MAC: as the source or a lookup found it, else (a button matched by its
  /// address) the one the config gives the button. nullopt: unknown.
  std::optional<util::Mac> mac;
  /// The device's address; for a DHCP request from 0.0.0.0, the button's static address
  /// when the config gives it one.
  util::Ipv4 ip;
  /// An unknown device whose MAC contradicts the button at its address (a possible spoof).
  const config::Button* contradicted = nullptr;
};

class Identifier {
 public:
  /// Looks a neighbour's MAC up (the kernel's table, see netlink/neighbour.h).
  using NeighbourLookup = std::function<std::optional<util::Mac>(util::Ipv4 ip, const std::string& iface)>;
  /// The MAC a lease file holds for an address (see LeaseFile).
  using LeaseLookup = std::function<std::optional<util::Mac>(const std::string& path, util::Ipv4 ip)>;

  Identifier(NeighbourLookup neighbours, LeaseLookup leases);

  /// The networks of the IoT interface. Only an address inside one of them has its MAC
  /// looked up: no button is a neighbour from anywhere else, and a connection from
  /// elsewhere (loopback, the LAN) then costs no question to the kernel or the lease file.
  /// Empty (the default): every address is looked up.
  void set_networks(std::vector<util::Ipv4Prefix> networks) { networks_ = std::move(networks); }

  /// Finds the button for an address. `mac`, when the source already knows it, is used
  /// as is; otherwise, for an address inside the networks, the neighbour table, then the
  /// lease file (config.dnsmasq.leases_file), are asked. Then match() decides, and the
  /// identity is completed from the button's config.
  Identity identify(const config::Config& config, util::Ipv4 ip, std::optional<util::Mac> mac) const;

  /// Whether `ip` is inside the IoT networks (every address is, while they are not known).
  bool inside(util::Ipv4 ip) const;

 private:
  NeighbourLookup neighbours_;
  LeaseLookup leases_;
  std::vector<util::Ipv4Prefix> networks_;
};

}  // namespace dashctl::press
