#pragma once
// Who pressed: a sighting's address (and MAC, where the source knows it) to a button.
// The MAC comes from the kernel's neighbour table first, then dnsmasq's lease file; the
// button is found by MAC first, then by its static address.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/model.h"
#include "util/net.h"

namespace dashctl::press {

/// The MAC dnsmasq's lease file (`dhcp-leasefile`, lines "EXPIRY MAC IP HOST CLIENTID")
/// holds for `ip`, from the file's text. Malformed lines are skipped. Pure.
std::optional<util::Mac> mac_from_leases(std::string_view lease_file_text, util::Ipv4 ip);

struct Identity {
  const config::Button* button = nullptr;  ///< nullptr: an unknown device
  std::optional<util::Mac> mac;            ///< as found, for logs and `unknown`
};

class Identifier {
 public:
  /// Looks a neighbour's MAC up (the kernel's table, see netlink/neighbour.h).
  using NeighbourLookup = std::function<std::optional<util::Mac>(util::Ipv4 ip, const std::string& iface)>;
  /// Reads a whole file; nullopt when it is missing (see util::read_file).
  using ReadFile = std::function<std::optional<std::string>(const std::string& path)>;

  Identifier(NeighbourLookup neighbours, ReadFile read_file);

  /// Finds the button for an address. `mac`, when the source already knows it, is used
  /// as is; otherwise the neighbour table, then the lease file (config.dnsmasq.leases_file),
  /// are asked. Then: the button with that MAC, else the button with that static address.
  Identity identify(const config::Config& config, util::Ipv4 ip, std::optional<util::Mac> mac) const;

 private:
  NeighbourLookup neighbours_;
  ReadFile read_file_;
};

}  // namespace dashctl::press
