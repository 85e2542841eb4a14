// SPDX-License-Identifier: GPL-2.0-or-later
#include "util/net.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <charconv>
#include <cstdio>

#include "util/text.h"

namespace dashctl::util {

std::optional<Ipv4> Ipv4::parse(std::string_view text) {
  // inet_pton accepts exactly the dotted quad, without the octal and short forms
  // that inet_aton would take.
  if (text.size() > 15) return std::nullopt;
  const std::string s(text);
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return Ipv4{ntohl(a.s_addr)};
}

std::string Ipv4::str() const {
  char buf[INET_ADDRSTRLEN];
  const in_addr a{htonl(value)};
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::optional<Ipv4Prefix> Ipv4Prefix::parse(std::string_view text, std::string* why) {
  const auto slash = text.find('/');
  auto fail = [&](std::string reason) -> std::optional<Ipv4Prefix> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  if (slash == std::string_view::npos) return fail("expected a network such as 10.77.0.0/24");
  const auto addr = Ipv4::parse(text.substr(0, slash));
  if (!addr) return fail(quoted(text.substr(0, slash)) + " is not an IPv4 address");
  const auto len_text = text.substr(slash + 1);
  int len = -1;
  const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (ec != std::errc{} || end != len_text.data() + len_text.size() || len < 0 || len > 32)
    return fail("prefix length must be 0 to 32");
  Ipv4Prefix p{*addr, len};
  if ((addr->value & p.mask()) != addr->value) {
    Ipv4Prefix fixed{Ipv4{addr->value & p.mask()}, len};
    return fail("host bits are set (did you mean " + fixed.str() + "?)");
  }
  return p;
}

std::string Ipv4Prefix::str() const { return network.str() + "/" + std::to_string(length); }

std::optional<Ipv4Range> Ipv4Range::parse(std::string_view text, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<Ipv4Range> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  const auto dash = text.find('-');
  if (dash == std::string_view::npos)
    return fail("expected a range such as 10.77.0.200-10.77.0.249");
  const auto first = Ipv4::parse(text.substr(0, dash));
  const auto last = Ipv4::parse(text.substr(dash + 1));
  if (!first) return fail(quoted(text.substr(0, dash)) + " is not an IPv4 address");
  if (!last) return fail(quoted(text.substr(dash + 1)) + " is not an IPv4 address");
  if (*last < *first) return fail("the range ends before it starts");
  return Ipv4Range{*first, *last};
}

std::string Ipv4Range::str() const { return first.str() + "-" + last.str(); }

std::optional<Mac> Mac::parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  const char sep = text[2];
  if (sep != ':' && sep != '-') return std::nullopt;
  Mac m;
  for (size_t i = 0; i < 6; ++i) {
    const auto part = text.substr(i * 3, 2);
    if (i < 5 && text[i * 3 + 2] != sep) return std::nullopt;
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + 2, v, 16);
    if (ec != std::errc{} || end != part.data() + 2) return std::nullopt;
    m.bytes[i] = static_cast<uint8_t>(v);
  }
  return m;
}

std::string Mac::str() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return buf;
}

std::optional<std::string> interface_name_problem(std::string_view name) {
  // The kernel's dev_valid_name(): 1 to IFNAMSIZ-1 bytes, not "." or "..", no '/', ':'
  // or white space.
  if (name.empty()) return "an interface name cannot be empty";
  if (name.size() >= IFNAMSIZ)
    return "interface names are at most " + std::to_string(IFNAMSIZ - 1) + " characters";
  if (name == "." || name == "..") return quoted(name) + " is not an interface name";
  for (const unsigned char c : name) {
    if (c == '/' || c == ':' || c <= ' ' || c >= 0x7f)
      return "interface names cannot contain '/', ':', spaces or control characters";
  }
  return std::nullopt;
}

std::optional<std::string> hostname_problem(std::string_view name) {
  // RFC 1123 names: labels of letters, digits and inner hyphens, 1-63 each, 253 in all.
  // Anything else could smuggle syntax into dnsmasq's files.
  if (name.empty()) return "a host name cannot be empty";
  if (name.size() > 253) return "host names are at most 253 characters";
  size_t start = 0;
  while (start <= name.size()) {
    const auto dot = name.find('.', start);
    const auto label = name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    if (label.empty()) return quoted(name) + " has an empty label";
    if (label.size() > 63) return "labels of a host name are at most 63 characters";
    if (label.front() == '-' || label.back() == '-')
      return "labels of a host name cannot start or end with '-'";
    for (const char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-';
      if (!ok) return quoted(name) + " is not a host name (letters, digits, '-' and '.')";
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return std::nullopt;
}

}  // namespace dashctl::util
