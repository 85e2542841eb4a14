// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Network values parsed from config and command lines. Parsers return std::nullopt or an
// explanation rather than throwing: bad input is an expected outcome.

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dashctl::util {

/// An IPv4 address, host byte order.
struct Ipv4 {
  uint32_t value = 0;
  static std::optional<Ipv4> parse(std::string_view text);  ///< dotted quad only
  std::string str() const;
  auto operator<=>(const Ipv4&) const = default;
};

/// A network such as 10.77.0.0/24.
struct Ipv4Prefix {
  Ipv4 network;
  int length = 0;
  /// Parses "a.b.c.d/n". Fails with a reason, e.g. when host bits are set.
  static std::optional<Ipv4Prefix> parse(std::string_view text, std::string* why = nullptr);
  uint32_t mask() const { return length == 0 ? 0 : ~uint32_t{0} << (32 - length); }
  bool contains(Ipv4 a) const { return (a.value & mask()) == network.value; }
  Ipv4 broadcast() const { return Ipv4{network.value | ~mask()}; }
  std::string str() const;
  auto operator<=>(const Ipv4Prefix&) const = default;
};

/// An inclusive address range such as 10.77.0.200-10.77.0.249.
struct Ipv4Range {
  Ipv4 first, last;
  static std::optional<Ipv4Range> parse(std::string_view text, std::string* why = nullptr);
  bool contains(Ipv4 a) const { return first <= a && a <= last; }
  std::string str() const;
  auto operator<=>(const Ipv4Range&) const = default;
};

/// An Ethernet MAC address.
struct Mac {
  std::array<uint8_t, 6> bytes{};
  /// Accepts aa:bb:cc:dd:ee:ff and aa-bb-cc-dd-ee-ff, any case.
  static std::optional<Mac> parse(std::string_view text);
  std::string str() const;  ///< lower case, colons
  bool is_multicast() const { return (bytes[0] & 1) != 0; }
  bool is_zero() const { return bytes == std::array<uint8_t, 6>{}; }
  auto operator<=>(const Mac&) const = default;
};

/// Why `name` is not a usable Linux interface name, or nullopt when it is.
std::optional<std::string> interface_name_problem(std::string_view name);

/// Why `name` is not a usable DNS host name (for dnsmasq's files), or nullopt when it is.
std::optional<std::string> hostname_problem(std::string_view name);

}  // namespace dashctl::util
