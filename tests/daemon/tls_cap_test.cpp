// SPDX-License-Identifier: GPL-2.0-or-later
// The TLS endpoint's caps on a fake clock: handshakes at once, per address per window, and
// the memory they keep.

#include "support/catch.h"

#include "daemon/tls_endpoint.h"

using namespace dashctl;
using namespace std::chrono_literals;
using Clock = daemon::HandshakeCap::Clock;

namespace {

util::Ipv4 ip(uint32_t last) { return util::Ipv4{(10u << 24) | (77u << 16) | last}; }

}  // namespace

TEST_CASE("tls cap: an address gets per_window handshakes a window, others are not held up") {
  daemon::HandshakeCap cap;
  const Clock::time_point t0{};
  for (int i = 0; i < 6; ++i) CHECK(cap.allow(ip(201), t0 + i * 100ms, 0, 16, 6, 10s));
  CHECK_FALSE(cap.allow(ip(201), t0 + 1s, 0, 16, 6, 10s));   // the 7th within 10 s
  CHECK(cap.allow(ip(202), t0 + 1s, 0, 16, 6, 10s));         // another address
  CHECK_FALSE(cap.allow(ip(201), t0 + 9'999ms, 0, 16, 6, 10s));
  CHECK(cap.allow(ip(201), t0 + 10s, 0, 16, 6, 10s));        // the first has left the window
  CHECK_FALSE(cap.allow(ip(201), t0 + 10'050ms, 0, 16, 6, 10s));
}

TEST_CASE("tls cap: no more than max_at_once at a time, and a refusal costs no place") {
  daemon::HandshakeCap cap;
  const Clock::time_point t0{};
  CHECK_FALSE(cap.allow(ip(201), t0, 16, 16, 6, 10s));
  for (int i = 0; i < 6; ++i) CHECK(cap.allow(ip(201), t0, 15, 16, 6, 10s));  // the refusal was not counted
}

TEST_CASE("tls cap: addresses whose window has passed are forgotten once there are many") {
  // Only known buttons' connections reach the cap, so the addresses are theirs: few. Should
  // there be many, those of past windows go.
  daemon::HandshakeCap cap;
  const Clock::time_point t0{};
  for (uint32_t i = 0; i < daemon::HandshakeCap::kSweepAt; ++i) CHECK(cap.allow(util::Ipv4{i}, t0, 0, 16, 6, 10s));
  CHECK(cap.addresses() == daemon::HandshakeCap::kSweepAt);
  CHECK(cap.allow(ip(201), t0 + 11s, 0, 16, 6, 10s));
  CHECK(cap.addresses() == 1);
}
