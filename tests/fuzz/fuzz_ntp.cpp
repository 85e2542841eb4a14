// SPDX-License-Identifier: GPL-2.0-or-later
// The NTP responder's parser on arbitrary datagrams: a request or nothing, never a crash;
// and a request's reply is always a 48-byte server reply that is no request itself.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ntp/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dashctl;
  const auto r = ntp::parse_request(std::span(data, size));
  if (!r) return 0;
  if (r->version < 1 || r->version > 4 || size < ntp::kHeaderSize || size > ntp::kMaxRequest) std::abort();
  const auto reply = ntp::reply(*r, {size % 2 == 0, static_cast<uint32_t>(size)}, 1, 2);
  if (reply.size() != ntp::kHeaderSize || (reply[0] & 7) != 4 || ntp::parse_request(reply)) std::abort();
  return 0;
}
