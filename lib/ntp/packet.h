// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// NTP (RFC 5905, and the versions before it) as far as the daemon's responder needs it: is a
// datagram a client's request, and the server's reply to it. Pure: the clock is passed in.
// The datagram comes from the network, so request() is fuzzed (tests/fuzz/fuzz_ntp.cpp).

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace dashctl::ntp {

/// The fixed header, without extension fields or authenticator.
inline constexpr size_t kHeaderSize = 48;
/// The largest request answered: the header, extension fields and an authenticator.
inline constexpr size_t kMaxRequest = 1024;

/// A 64-bit NTP timestamp: seconds since 1900 in the high half, a binary fraction below.
using Timestamp = uint64_t;

/// The NTP timestamp of a Unix time in nanoseconds.
Timestamp from_unix_ns(int64_t unix_ns);

/// What the reply needs of a client's request.
struct Request {
  int version = 4;          ///< 1 to 4: the reply has the same
  int8_t poll = 0;          ///< echoed
  Timestamp transmit = 0;   ///< the client's transmit time: the reply's origin
};

/// A well-formed client request: at least the 48-byte header; mode 3 (client); version 1
/// to 4; and after the header, for version 4, nothing or well-formed extension fields (each
/// a multiple of 4 bytes, at least 16, whose lengths add up), each optionally followed by an
/// authenticator (a key id and an MD5 or SHA-1 digest: 20 or 24 bytes); for versions 3 and
/// earlier, nothing or an authenticator. At most kMaxRequest bytes. Anything else is nullopt:
/// it gets no answer. Never throws.
std::optional<Request> parse_request(std::span<const uint8_t> datagram);

/// The state of this host's clock, as the kernel says (ntp_adjtime).
struct ClockState {
  bool synchronised = false;
  uint32_t max_error_us = 0;  ///< the kernel's estimate of its maximum error
};

/// The server reply (mode 4) to `r`, 48 bytes: leap indicator 0, or 3 ("unsynchronised")
/// with stratum 16 when the clock is not synchronised; stratum 2 otherwise; the request's
/// version and poll; origin = the client's transmit time, receive and transmit the times
/// given; the root dispersion from the clock's maximum error.
std::vector<uint8_t> reply(const Request& r, const ClockState& clock, Timestamp received, Timestamp transmitted);

}  // namespace dashctl::ntp
