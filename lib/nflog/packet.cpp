// SPDX-License-Identifier: GPL-2.0-or-later
#include "nflog/packet.h"

#include <cctype>

namespace dashctl::nflog {
namespace {

uint16_t be16(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}

uint32_t be32(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint32_t>(b[at]) << 24 | static_cast<uint32_t>(b[at + 1]) << 16 |
         static_cast<uint32_t>(b[at + 2]) << 8 | b[at + 3];
}

}  // namespace

std::optional<DnsQuestion> parse_dns_query(std::span<const uint8_t> m) {
  if (m.size() < 12) return std::nullopt;
  const uint16_t flags = be16(m, 2);
  const bool response = flags & 0x8000;
  const unsigned opcode = (flags >> 11) & 0xF;
  if (response || opcode != 0 || be16(m, 4) != 1) return std::nullopt;  // one question, a standard query
  DnsQuestion q;
  size_t i = 12;
  for (;;) {
    if (i >= m.size()) return std::nullopt;
    const uint8_t len = m[i++];
    if (len == 0) break;
    if (len > 63) return std::nullopt;  // 0xC0: a compression pointer; 0x40/0x80: reserved
    if (i + len > m.size() || q.name.size() + len + 1 > 255) return std::nullopt;
    if (!q.name.empty()) q.name += '.';
    for (size_t k = 0; k < len; ++k) {
      const auto c = static_cast<unsigned char>(m[i + k]);
      if (c <= ' ' || c >= 0x7f || c == '.') return std::nullopt;  // nothing a log line could be fooled by
      q.name += static_cast<char>(std::tolower(c));
    }
    i += len;
  }
  if (i + 4 > m.size()) return std::nullopt;
  q.type = be16(m, i);
  return q;
}

std::optional<Packet> parse_ipv4_udp(std::span<const uint8_t> b) {
  if (b.size() < 20 || b[0] >> 4 != 4) return std::nullopt;
  const size_t ihl = static_cast<size_t>(b[0] & 0xF) * 4;
  const size_t total = be16(b, 2);
  if (ihl < 20 || total < ihl + 8 || total > b.size()) return std::nullopt;
  const uint16_t fragment = be16(b, 6);
  if (fragment & 0x3FFF) return std::nullopt;  // more fragments, or an offset: not a whole datagram
  if (b[9] != 17) return std::nullopt;         // UDP only
  Packet p;
  p.src = util::Ipv4{be32(b, 12)};
  p.dst = util::Ipv4{be32(b, 16)};
  const auto udp = b.subspan(ihl, total - ihl);
  const size_t udp_len = be16(udp, 4);
  if (udp_len < 8 || udp_len > udp.size()) return std::nullopt;
  p.sport = be16(udp, 0);
  p.dport = be16(udp, 2);
  const auto payload = udp.subspan(8, udp_len - 8);
  if (p.dport == 53) p.question = parse_dns_query(payload);
  p.dhcp = p.dport == 67 && payload.size() >= 240 && payload[0] == 1;  // BOOTREQUEST
  return p;
}

std::string qtype_name(uint16_t type) {
  switch (type) {
    case 1: return "A";
    case 28: return "AAAA";
    case 5: return "CNAME";
    case 12: return "PTR";
    case 16: return "TXT";
    case 33: return "SRV";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    default: return std::to_string(type);
  }
}

}  // namespace dashctl::nflog
