// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// What `dashctl learn` makes of one packet its table logged: a device to learn, a button
// already known, or nothing of interest. Pure: the packet's bytes and the config in, a
// verdict out, so it is tested on captured packets without root.

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>

#include "config/model.h"
#include "nflog/socket.h"
#include "util/net.h"

namespace dashctl::learn {

/// One logged packet, classified.
struct Verdict {
  enum class Kind {
    ignored,  ///< no usable MAC, no DHCP request or DNS query, or (without --any) a name not intercepted
    known,    ///< a device that is already a button (see press::match)
    device,   ///< a new device: the one to learn
  };
  Kind kind = Kind::ignored;
  /// For `ignored`: why, for the debug log ("not an intercepted name", ...).
  std::string why;
  /// The sender's MAC (known and device).
  util::Mac mac;
  /// What it asked: "A dash-button-na-aws-opf.amazon.com", or "a DHCP request" (known and device).
  std::string asked;
  /// For `known`: the button it is. Points into the config the Classifier was given.
  const config::Button* button = nullptr;
  /// For `device`: a button whose static address the packet came from, though its MAC is
  /// another (another device on that address, learned as a new one); else nullptr.
  const config::Button* contradicted = nullptr;
};

class Classifier {
 public:
  /// `config` must outlive the classifier: verdicts point at its buttons. With `any`, every
  /// DHCP request and DNS query qualifies, not only a query for an intercepted name.
  Classifier(const config::Config& config, bool any);

  /// Classifies a packet from its sender's Ethernet address (nullopt when it came without
  /// one) and its bytes from the IP header on:
  /// - a missing, multicast or all-zero MAC, or a packet that is no IPv4 UDP DHCP request or
  ///   DNS query: ignored;
  /// - without `any`, a DNS query for a name not in intercept.hostnames (compared in any
  ///   case), or a DHCP request: ignored;
  /// - a device press::match finds among the buttons (by MAC; by its source address only
  ///   when the button there has no MAC): known;
  /// - anything else: a new device.
  Verdict classify(const std::optional<util::Mac>& mac, std::span<const uint8_t> packet) const;
  Verdict classify(const nflog::Logged& logged) const { return classify(logged.mac, logged.payload); }

 private:
  const config::Config& config_;
  bool any_;
  std::set<std::string> hostnames_;  ///< intercept.hostnames in lower case
};

}  // namespace dashctl::learn
