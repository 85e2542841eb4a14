// SPDX-License-Identifier: GPL-2.0-or-later
#include "learn/classify.h"

#include <algorithm>
#include <cctype>

#include "nflog/packet.h"
#include "press/identify.h"

namespace dashctl::learn {

Classifier::Classifier(const config::Config& config, bool any) : config_(config), any_(any) {
  // The parser gives names in lower case; the config may spell them in any.
  for (std::string h : config.intercept.hostnames) {
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    hostnames_.insert(std::move(h));
  }
}

Verdict Classifier::classify(const std::optional<util::Mac>& mac, std::span<const uint8_t> packet) const {
  Verdict v;
  if (!mac || mac->is_multicast() || mac->is_zero()) {
    v.why = "no unicast MAC address";
    return v;
  }
  const auto p = nflog::parse_ipv4_udp(packet);
  if (!p || (!p->question && !p->dhcp)) {
    v.why = "no DHCP request or DNS query";
    return v;
  }
  v.mac = *mac;
  v.asked = p->question ? nflog::qtype_name(p->question->type) + " " + p->question->name : "a DHCP request";
  const bool intercepted = p->question && hostnames_.contains(p->question->name);
  if (!intercepted && !any_) {
    v.why = mac->str() + " asked " + v.asked + ": not an intercepted name";
    return v;
  }
  // A DHCP request comes from 0.0.0.0, which match() never takes for an address.
  v.button = press::match(config_, mac, p->src, &v.contradicted);
  v.kind = v.button ? Verdict::Kind::known : Verdict::Kind::device;
  return v;
}

}  // namespace dashctl::learn
