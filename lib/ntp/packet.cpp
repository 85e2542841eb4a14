// SPDX-License-Identifier: GPL-2.0-or-later
#include "ntp/packet.h"

namespace dashctl::ntp {
namespace {

/// Seconds from 1900-01-01 (NTP's era 0) to 1970-01-01 (Unix).
constexpr uint64_t kUnixEpoch = 2'208'988'800ULL;

uint32_t get32(std::span<const uint8_t> b, size_t at) {
  return uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 | uint32_t{b[at + 3]};
}

void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 24);
  b[at + 1] = static_cast<uint8_t>(v >> 16);
  b[at + 2] = static_cast<uint8_t>(v >> 8);
  b[at + 3] = static_cast<uint8_t>(v);
}

void put64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  put32(b, at, static_cast<uint32_t>(v >> 32));
  put32(b, at + 4, static_cast<uint32_t>(v));
}

bool is_authenticator(size_t n) { return n == 20 || n == 24; }

/// Extension fields (RFC 7822), then optionally an authenticator, exactly filling `rest`.
bool well_formed_extensions(std::span<const uint8_t> rest) {
  size_t at = 0;
  // A bounded walk: every field is at least 16 bytes, and rest is at most ~1 KiB.
  while (at < rest.size()) {
    const size_t left = rest.size() - at;
    if (is_authenticator(left)) return true;
    if (left < 16) return false;
    const size_t length = uint32_t{rest[at + 2]} << 8 | rest[at + 3];
    if (length < 16 || length % 4 != 0 || length > left) return false;
    at += length;
  }
  return true;
}

}  // namespace

Timestamp from_unix_ns(int64_t unix_ns) {
  const int64_t secs = unix_ns >= 0 ? unix_ns / 1'000'000'000 : (unix_ns - 999'999'999) / 1'000'000'000;
  const int64_t ns = unix_ns - secs * 1'000'000'000;
  const uint64_t ntp_secs = static_cast<uint64_t>(secs) + kUnixEpoch;  // wraps at era 1 (2036), as NTP does
  const uint64_t fraction = (static_cast<uint64_t>(ns) << 32) / 1'000'000'000ULL;
  return (ntp_secs << 32) | (fraction & 0xffffffffULL);
}

std::optional<Request> parse_request(std::span<const uint8_t> d) {
  if (d.size() < kHeaderSize || d.size() > kMaxRequest) return std::nullopt;
  const int version = (d[0] >> 3) & 0x7;
  const int mode = d[0] & 0x7;
  if (mode != 3 || version < 1 || version > 4) return std::nullopt;
  const auto rest = d.subspan(kHeaderSize);
  if (!rest.empty()) {
    if (version == 4) {
      if (!well_formed_extensions(rest)) return std::nullopt;
    } else if (!is_authenticator(rest.size())) {
      return std::nullopt;
    }
  }
  Request r;
  r.version = version;
  r.poll = static_cast<int8_t>(d[2]);
  r.transmit = uint64_t{get32(d, 40)} << 32 | get32(d, 44);
  return r;
}

std::vector<uint8_t> reply(const Request& r, const ClockState& clock, Timestamp received, Timestamp transmitted) {
  std::vector<uint8_t> b(kHeaderSize, 0);
  const int leap = clock.synchronised ? 0 : 3;
  b[0] = static_cast<uint8_t>(leap << 6 | (r.version & 0x7) << 3 | 4);
  b[1] = clock.synchronised ? 2 : 16;         // stratum: a secondary server, or unsynchronised
  b[2] = static_cast<uint8_t>(r.poll);
  b[3] = static_cast<uint8_t>(int8_t{-20});   // precision: about a microsecond
  // Root delay 0; root dispersion (16.16 seconds) from the kernel's maximum error.
  const uint64_t dispersion = (uint64_t{clock.max_error_us} << 16) / 1'000'000ULL;
  put32(b, 8, static_cast<uint32_t>(dispersion > 0xffffffffULL ? 0xffffffffULL : dispersion));
  // Reference id: "LOCL" (this host's own clock, as it was disciplined); the reference time
  // is the receive time: the clock is read, not set, here.
  b[12] = 'L';
  b[13] = 'O';
  b[14] = 'C';
  b[15] = 'L';
  put64(b, 16, clock.synchronised ? received : 0);
  put64(b, 24, r.transmit);
  put64(b, 32, received);
  put64(b, 40, transmitted);
  return b;
}

}  // namespace dashctl::ntp
