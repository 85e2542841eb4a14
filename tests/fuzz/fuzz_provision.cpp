// SPDX-License-Identifier: GPL-2.0-or-later
// A button's setup page, as the access point sends it, on arbitrary bytes: device info or a
// reason, never a crash or an exception; what it reads holds to its own rules (a bounded
// network list of valid SSIDs), and every SSID it lists survives the request's encoding.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "provision/device.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dashctl;
  const std::string_view page(reinterpret_cast<const char*>(data), size);
  provision::ParseError err;
  for (auto d : {provision::parse_json(page, err), provision::parse_html(page, err), provision::parse_page(page, err)}) {
    if (!d) {
      if (err.why.empty()) std::abort();
      continue;
    }
    if (d->serial.empty() && !d->mac) std::abort();
    if (d->networks.size() > 64 || (!d->networks_listed && !d->networks.empty())) std::abort();
    for (const auto& n : d->networks) {
      if (n.ssid.empty() || n.ssid.size() > 32) std::abort();
      if (provision::percent_decode(provision::percent_encode(n.ssid)) != n.ssid) std::abort();
      (void)provision::printable(n.ssid);
    }
    if (d->battery && (*d->battery < 0 || *d->battery > 100)) std::abort();
    auto copy = *d;
    if (provision::merge(copy, *d)) std::abort();  // a page agrees with itself
  }
  return 0;
}
