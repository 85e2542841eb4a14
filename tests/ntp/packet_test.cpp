// SPDX-License-Identifier: GPL-2.0-or-later
// The NTP responder's packets: real client requests (captured from Debian 12's ntpdig and
// chronyd on loopback), malformed and truncated ones, and the reply's fields.

#include "support/catch.h"

#include <string>
#include <vector>

#include "ntp/packet.h"

using namespace dashctl;

namespace {

std::vector<uint8_t> hex(const std::string& h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(h.substr(i, 2), nullptr, 16)));
  return out;
}

// ntpdig -p 1 127.0.0.1 (ntpsec 1.2.2): LI 3, version 4, mode 3; only the transmit time set.
const std::string kNtpdig =
    "e3000000000000000000000000000000000000000000000000000000000000000000000000000000eebacc8a4b859000";
// chronyd -Q 'server 127.0.0.1 iburst' (chrony 4.3): version 4, poll 6; a random transmit time.
const std::string kChronyd =
    "2300062000000000000000000000000000000000000000000000000000000000000000000000000082b79358a6b2ce7b";

uint32_t get32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 | b[at + 3];
}

}  // namespace

TEST_CASE("ntp: real client requests are requests") {
  const auto dig = ntp::parse_request(hex(kNtpdig));
  REQUIRE(dig);
  CHECK(dig->version == 4);
  CHECK(dig->poll == 0);
  CHECK(dig->transmit == 0xeebacc8a4b859000ULL);
  const auto chrony = ntp::parse_request(hex(kChronyd));
  REQUIRE(chrony);
  CHECK(chrony->version == 4);
  CHECK(chrony->poll == 6);
  CHECK(chrony->transmit == 0x82b79358a6b2ce7bULL);
}

TEST_CASE("ntp: versions 1 to 4 in mode 3, and nothing else") {
  auto b = hex(kNtpdig);
  for (int v = 0; v <= 7; ++v) {
    for (int mode = 0; mode <= 7; ++mode) {
      b[0] = static_cast<uint8_t>(3 << 6 | v << 3 | mode);
      const bool want = mode == 3 && v >= 1 && v <= 4;
      INFO("version " << v << " mode " << mode);
      CHECK(bool(ntp::parse_request(b)) == want);
    }
  }
}

TEST_CASE("ntp: truncated, padded and oversized datagrams get no answer") {
  const auto b = hex(kNtpdig);
  for (size_t n = 0; n < ntp::kHeaderSize; ++n) CHECK_FALSE(ntp::parse_request(std::span(b).first(n)));
  auto padded = b;
  padded.push_back(0);
  CHECK_FALSE(ntp::parse_request(padded));  // 49 bytes: no extension field is 1 byte
  padded.resize(ntp::kHeaderSize + 12);
  CHECK_FALSE(ntp::parse_request(padded));  // shorter than an extension field or authenticator
  std::vector<uint8_t> huge(ntp::kMaxRequest + 4, 0);
  huge[0] = 0x23;
  CHECK_FALSE(ntp::parse_request(huge));
}

TEST_CASE("ntp: an authenticator, and version 4's extension fields") {
  auto b = hex(kNtpdig);
  auto with_mac = b;
  with_mac.resize(ntp::kHeaderSize + 20, 0xab);  // key id + MD5
  CHECK(ntp::parse_request(with_mac));
  with_mac.resize(ntp::kHeaderSize + 24, 0xab);  // key id + SHA-1
  CHECK(ntp::parse_request(with_mac));
  // Version 3 with an authenticator, but not with an extension field.
  auto v3 = with_mac;
  v3[0] = 0x1b;
  CHECK(ntp::parse_request(v3));
  auto field = b;
  const std::vector<uint8_t> ext = {0x01, 0x04, 0x00, 0x20};  // type, length 32
  field.insert(field.end(), ext.begin(), ext.end());
  field.resize(ntp::kHeaderSize + 32, 0);
  CHECK(ntp::parse_request(field));
  auto field_v3 = field;
  field_v3[0] = 0x1b;
  CHECK_FALSE(ntp::parse_request(field_v3));
  field.resize(ntp::kHeaderSize + 32 + 20, 0xcd);  // a field, then an authenticator
  CHECK(ntp::parse_request(field));
  auto bad = b;
  const std::vector<uint8_t> wrong = {0x01, 0x04, 0x00, 0x22};  // length not a multiple of 4
  bad.insert(bad.end(), wrong.begin(), wrong.end());
  bad.resize(ntp::kHeaderSize + 0x22, 0);
  CHECK_FALSE(ntp::parse_request(bad));
  auto longer = b;
  const std::vector<uint8_t> beyond = {0x01, 0x04, 0x01, 0x00};  // 256 bytes claimed, 16 there
  longer.insert(longer.end(), beyond.begin(), beyond.end());
  longer.resize(ntp::kHeaderSize + 16, 0);
  CHECK_FALSE(ntp::parse_request(longer));
}

TEST_CASE("ntp: the reply to a request") {
  const auto r = *ntp::parse_request(hex(kChronyd));
  const ntp::Timestamp received = ntp::from_unix_ns(1'764'700'000'250'000'000LL);
  const ntp::Timestamp sent = received + 1000;
  SECTION("a synchronised clock") {
    const auto b = ntp::reply(r, {true, 16000}, received, sent);
    REQUIRE(b.size() == ntp::kHeaderSize);
    CHECK(b[0] >> 6 == 0);          // no leap warning
    CHECK(((b[0] >> 3) & 7) == 4);  // the request's version
    CHECK((b[0] & 7) == 4);         // server
    CHECK(b[1] == 2);
    CHECK(b[2] == 6);  // the request's poll
    CHECK(get32(b, 8) == (16000u << 16) / 1'000'000u);
    CHECK((uint64_t{get32(b, 24)} << 32 | get32(b, 28)) == r.transmit);  // origin
    CHECK((uint64_t{get32(b, 32)} << 32 | get32(b, 36)) == received);
    CHECK((uint64_t{get32(b, 40)} << 32 | get32(b, 44)) == sent);
    // And a client would take it: it is no request, and it parses as a reply would.
    CHECK_FALSE(ntp::parse_request(b));
  }
  SECTION("an unsynchronised clock says so") {
    const auto b = ntp::reply(r, {false, 16'000'000}, received, sent);
    CHECK(b[0] >> 6 == 3);
    CHECK(b[1] == 16);
    CHECK(get32(b, 16) == 0);  // no reference time
  }
  SECTION("a version 1 request gets a version 1 reply") {
    auto v1 = hex(kNtpdig);
    v1[0] = 0x0b;
    const auto b = ntp::reply(*ntp::parse_request(v1), {true, 0}, received, sent);
    CHECK(((b[0] >> 3) & 7) == 1);
  }
}

TEST_CASE("ntp: Unix time to NTP timestamps") {
  CHECK(ntp::from_unix_ns(0) == 2'208'988'800ULL << 32);
  CHECK(ntp::from_unix_ns(500'000'000) == ((2'208'988'800ULL << 32) | 0x80000000ULL));
  // 2026-12-02T00:00:00Z.
  CHECK(ntp::from_unix_ns(1'764'633'600LL * 1'000'000'000LL) >> 32 == 1'764'633'600ULL + 2'208'988'800ULL);
}
