// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The pure parts of `dashctl learn`: who made a device (the IEEE registry), which name and
// which address a new button gets. No I/O beyond reading the registry file; classify.h
// says what a logged packet means, table.h is the table learn watches through, and
// new_button.h puts a new button together from the lease file and the interface.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/model.h"
#include "util/net.h"

namespace dashctl::learn {

/// Debian's ieee-data package: the MA-L (24-bit prefix) assignments.
inline constexpr const char* kOuiCsv = "/usr/share/ieee-data/oui.csv";

/// Vendors by MAC prefix, from the IEEE registry's CSV
/// (`Registry,Assignment,Organization Name,Organization Address`, fields quoted as CSV
/// quotes them). A vendor is a hint, never an identity.
class Vendors {
 public:
  /// Parses the CSV text: RFC 4180 quoting (commas, doubled quotes and line ends inside
  /// quoted fields), "\n" or "\r\n" line ends. Records that are not MA-L assignments with
  /// six hex digits and a name, or not four fields, are skipped; so is a record with text
  /// after a closing quote (up to the end of that line), and the line of a quote never
  /// closed. Linear time whatever the content; never throws on bad content.
  /// Names are one line without surrounding white space (control characters become
  /// spaces). A prefix listed twice keeps its first name.
  static Vendors parse(std::string_view csv);
  /// Reads and parses `path`; an empty registry when the file is missing or unreadable
  /// (ieee-data is a recommendation, not a dependency).
  static Vendors load(const std::string& path = kOuiCsv);

  /// The organisation that owns the MAC's first three bytes. nullopt when unknown, and for
  /// locally administered addresses (bit 1 of the first byte), which no vendor owns.
  std::optional<std::string> lookup(const util::Mac& mac) const;
  size_t size() const { return by_prefix_.size(); }

 private:
  std::unordered_map<uint32_t, std::string> by_prefix_;
};

/// The first address of network.lease_range that no button of the config uses, that is not
/// the listen address, and that dnsmasq's lease database (`leases`: the text of the lease
/// file, "expiry mac ip host clientid" per line; malformed lines skipped) does not give to
/// another MAC than `mac`. nullopt when the config has no lease_range or the range is full.
/// A lease counts whatever its expiry (0 is "never"): its device may still use the address.
/// When `mac` itself holds a lease in the range on an address that is otherwise free, that
/// address (the lowest such) comes first, so the device keeps the address it has. Only a
/// listen_address set in `c` is known here: a caller that defaults it from the interface
/// fills it in first. The work grows with the buttons and leases, not with the range.
std::optional<util::Ipv4> next_free_address(const config::Config& c, const util::Mac& mac,
                                            std::string_view leases);

/// "button-N" with the smallest N >= 1 that no button of the config is called.
/// Names are compared exactly: "button-01" does not take "button-1".
std::string free_name(const config::Config& c);

}  // namespace dashctl::learn
