// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// What NFLOG hands over of a button's packet, parsed: a pure function over bytes, so it is
// tested on captured packets and fuzzed. Anything malformed is nullopt, never a crash; the
// caller counts and skips it.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "util/net.h"

namespace dashctl::nflog {

/// The question of a DNS query.
struct DnsQuestion {
  std::string name;  ///< lower case, without the final dot
  uint16_t type = 0;
  bool operator==(const DnsQuestion&) const = default;
};

/// An IPv4 UDP packet as logged (from the IP header on).
struct Packet {
  util::Ipv4 src, dst;
  uint16_t sport = 0, dport = 0;
  std::optional<DnsQuestion> question;  ///< a DNS query to port 53
  bool dhcp = false;                    ///< a DHCP/BOOTP request to port 67
};

/// Parses an IPv4 UDP packet. nullopt for anything else: another protocol or IP version, a
/// fragment, lengths that do not add up, a truncated header.
std::optional<Packet> parse_ipv4_udp(std::span<const uint8_t> bytes);

/// Parses a DNS message that is a standard query with exactly one question. Names are
/// labels of 1 to 63 bytes, 255 in all; compression pointers are refused (a question has
/// nothing to point back to). nullopt otherwise.
std::optional<DnsQuestion> parse_dns_query(std::span<const uint8_t> message);

/// "A", "AAAA", "HTTPS"... or the number.
std::string qtype_name(uint16_t type);

}  // namespace dashctl::nflog
