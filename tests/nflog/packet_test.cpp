// SPDX-License-Identifier: GPL-2.0-or-later
// The packet and DNS parser on packets captured in the lab (a simulated button's DHCP
// request and DNS queries), and on every way to break them.

#include "support/catch.h"

#include <fstream>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "nflog/packet.h"

using namespace dashctl;

namespace {

std::vector<uint8_t> capture(const std::string& name) {
  std::ifstream in(std::string(DASHCTL_TEST_SOURCE_DIR) + "/nflog/captures/" + name + ".hex");
  std::string hex;
  in >> hex;
  REQUIRE(hex.size() % 2 == 0);
  std::vector<uint8_t> out;
  for (size_t i = 0; i < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

/// A DNS query message with the given name labels, for the cases no capture shows.
std::vector<uint8_t> query(const std::vector<std::string>& labels, uint16_t flags = 0x0100, uint16_t qdcount = 1) {
  std::vector<uint8_t> m{0x12, 0x34, static_cast<uint8_t>(flags >> 8), static_cast<uint8_t>(flags), 0,
                         static_cast<uint8_t>(qdcount), 0, 0, 0, 0, 0, 0};
  for (const auto& l : labels) {
    m.push_back(static_cast<uint8_t>(l.size()));
    m.insert(m.end(), l.begin(), l.end());
  }
  m.insert(m.end(), {0, 0, 1, 0, 1});
  return m;
}

}  // namespace

TEST_CASE("a captured query for the Amazon endpoint") {
  const auto p = nflog::parse_ipv4_udp(capture("dns-endpoint"));
  REQUIRE(p);
  CHECK(p->src.str() == "10.77.0.119");
  CHECK(p->dst.str() == "10.77.0.1");
  CHECK(p->dport == 53);
  REQUIRE(p->question);
  CHECK(p->question->name == "dash-button-na-aws-opf.amazon.com");
  CHECK(nflog::qtype_name(p->question->type) == "A");
  CHECK_FALSE(p->dhcp);
}

TEST_CASE("a captured query for the NTP host") {
  const auto p = nflog::parse_ipv4_udp(capture("dns-ntp"));
  REQUIRE(p);
  REQUIRE(p->question);
  CHECK(p->question->name == "0.amazon.pool.ntp.org");
}

TEST_CASE("a captured DHCP message (a BOOTREQUEST)") {
  const auto p = nflog::parse_ipv4_udp(capture("dhcp"));
  REQUIRE(p);
  CHECK(p->dhcp);
  CHECK(p->dport == 67);
  CHECK(p->sport == 68);
  CHECK(p->src.str() == "0.0.0.0");
  CHECK_FALSE(p->question);
}

TEST_CASE("every truncation of a captured packet is refused, none crashes") {
  for (const auto* name : {"dns-endpoint", "dns-ntp", "dhcp"}) {
    const auto bytes = capture(name);
    for (size_t n = 0; n < bytes.size(); ++n)
      CHECK_FALSE(nflog::parse_ipv4_udp(std::span(bytes.data(), n)));
  }
}

// Crashes are the fuzz target's business (tests/fuzz/fuzz_packet.cpp); this asks whether what
// the parser accepts of a damaged packet is what the bytes say, read here independently.
TEST_CASE("a damaged packet is refused, or parsed as its bytes say") {
  std::mt19937 rng(1234);  // fixed: a failure must be repeatable
  for (const auto* name : {"dns-endpoint", "dhcp"}) {
    const auto good = capture(name);
    size_t accepted = 0, refused = 0;
    for (int round = 0; round < 5000; ++round) {
      auto b = good;
      for (int k = 0; k < 1 + round % 4; ++k) b[rng() % b.size()] = static_cast<uint8_t>(rng());
      const auto p = nflog::parse_ipv4_udp(b);
      const auto be16 = [&](size_t at) { return size_t{b[at]} << 8 | b[at + 1]; };
      const size_t ihl = size_t{b[0] & 0xFu} * 4;
      const bool whole_udp = b[0] >> 4 == 4 && ihl >= 20 && be16(2) >= ihl + 8 && be16(2) <= b.size() &&
                             (be16(6) & 0x3FFF) == 0 && b[9] == 17 && be16(ihl + 4) >= 8 &&
                             be16(ihl + 4) <= be16(2) - ihl;
      INFO(name << ", round " << round);
      REQUIRE(p.has_value() == whole_udp);
      if (!p) {
        ++refused;
        continue;
      }
      ++accepted;
      CHECK(p->src.value == (be16(12) << 16 | be16(14)));
      CHECK(p->dst.value == (be16(16) << 16 | be16(18)));
      CHECK(size_t{p->sport} == be16(ihl));
      CHECK(size_t{p->dport} == be16(ihl + 2));
      const auto payload = std::span(b).subspan(ihl + 8, be16(ihl + 4) - 8);
      CHECK(p->question == (p->dport == 53 ? nflog::parse_dns_query(payload) : std::nullopt));
      CHECK(p->dhcp == (p->dport == 67 && payload.size() >= 240 && payload[0] == 1));
    }
    // Both ways taken, or the damage missed what it was for.
    CHECK(accepted > 100);
    CHECK(refused > 100);
  }
}

TEST_CASE("packets that are not whole IPv4 UDP datagrams are refused") {
  auto bytes = capture("dns-endpoint");
  auto tcp = bytes;
  tcp[9] = 6;
  CHECK_FALSE(nflog::parse_ipv4_udp(tcp));
  auto v6 = bytes;
  v6[0] = 0x65;
  CHECK_FALSE(nflog::parse_ipv4_udp(v6));
  auto fragment = bytes;
  fragment[6] = 0x20;  // more fragments
  CHECK_FALSE(nflog::parse_ipv4_udp(fragment));
  auto long_total = bytes;
  long_total[3] = static_cast<uint8_t>(long_total[3] + 1);
  CHECK_FALSE(nflog::parse_ipv4_udp(long_total));
}

TEST_CASE("DNS questions: only well-formed single queries") {
  CHECK(nflog::parse_dns_query(query({"Parker-Gateway-NA", "Amazon", "com"}))->name == "parker-gateway-na.amazon.com");
  CHECK_FALSE(nflog::parse_dns_query(query({"a", "com"}, 0x8180)));      // a response
  CHECK_FALSE(nflog::parse_dns_query(query({"a", "com"}, 0x2800)));      // opcode UPDATE
  CHECK_FALSE(nflog::parse_dns_query(query({"a", "com"}, 0x0100, 2)));   // two questions
  CHECK_FALSE(nflog::parse_dns_query(query({std::string(64, 'a')})));   // a label over 63
  CHECK_FALSE(nflog::parse_dns_query(query({"a b", "com"})));           // a space
  CHECK_FALSE(nflog::parse_dns_query(query({"a.b", "com"})));           // a dot inside a label
  std::vector<std::string> long_name(5, std::string(63, 'x'));
  CHECK_FALSE(nflog::parse_dns_query(query(long_name)));                // over 255 in all
  auto pointer = query({"a", "com"});
  pointer[12] = 0xC0;  // a compression pointer in the question
  CHECK_FALSE(nflog::parse_dns_query(pointer));
  auto no_type = query({"a", "com"});
  no_type.resize(no_type.size() - 3);
  CHECK_FALSE(nflog::parse_dns_query(no_type));
  CHECK(nflog::qtype_name(65) == "HTTPS");
  CHECK(nflog::qtype_name(999) == "999");
}
