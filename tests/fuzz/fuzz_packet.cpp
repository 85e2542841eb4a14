// SPDX-License-Identifier: GPL-2.0-or-later
// The NFLOG packet and DNS parser on arbitrary bytes: nullopt or a packet, never a crash.

#include <cstddef>
#include <cstdint>
#include <span>

#include "nflog/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  (void)dashctl::nflog::parse_ipv4_udp(bytes);
  (void)dashctl::nflog::parse_dns_query(bytes);
  return 0;
}
