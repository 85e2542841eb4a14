// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The nftables ruleset dashctl owns, as a value: built from the config, rendered as nft
// text for `setup --dry-run`, encoded and sent by kernel.h. One table, `inet dashctl`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "util/net.h"

namespace dashctl::nft {

enum class Proto { any, tcp, udp };

enum class Verdict {
  accept,
  redirect,          ///< to redirect_port on this host
  reject_tcp_reset,  ///< reject with tcp reset
  reject_admin,      ///< reject with icmpx admin-prohibited
  log,               ///< log group log_group (NFLOG; not a verdict: the next rule follows)
};

/// One rule. Every rule dashctl installs has this shape: matches in this order, then a
/// verdict, which keeps encoding, text and read-back in step.
struct Rule {
  std::string iifname;
  std::optional<util::Mac> ether_saddr;       ///< ether saddr (with nft's implicit iiftype ether)
  bool established = false;                   ///< ct state established,related
  std::optional<util::Ipv4Prefix> daddr;      ///< ip daddr (IPv4 only)
  Proto proto = Proto::any;                   ///< tcp/udp; with dport, or alone as meta l4proto
  std::optional<uint16_t> dport;
  Verdict verdict = Verdict::accept;
  uint16_t redirect_port = 0;
  uint16_t log_group = 0;
  std::string why;  ///< shown as a comment by the text rendering
  bool operator==(const Rule&) const = default;
};

struct Chain {
  std::string name;  ///< prerouting, input, forward
  std::string type;  ///< nat or filter
  std::string hook;  ///< prerouting, input, forward
  int priority = 0;  ///< -300 (raw), -100 (dstnat) or 0 (filter)
  std::vector<Rule> rules;
  bool operator==(const Chain&) const = default;
};

struct Ruleset {
  std::string family = "inet";
  std::string table = "dashctl";
  std::vector<Chain> chains;
  bool operator==(const Ruleset&) const = default;
};

/// The ruleset of DESIGN.md section 5 for this config. With buttons that have a MAC, the
/// input chain first logs their own DHCP requests and DNS queries to network.nflog_group,
/// the press source `dashctl run` reads with CAP_NET_ADMIN: the kernel does the filtering.
Ruleset build(const config::Config& config);

/// The small table `dashctl learn` adds while it waits and always removes: every DHCP
/// request and DNS query arriving on the IoT interface, logged to nflog_group + 1 before
/// any NAT (priority raw), whether or not setup ran.
Ruleset build_learn(const config::Config& config);

/// The learn table's name (family inet).
inline constexpr const char* kLearnTable = "dashctl-learn";

/// The NFLOG group `dashctl learn` reads.
uint16_t learn_group(const config::Config& config);

/// nft syntax, loadable by `nft -f`. With `replace`, the script first adds and deletes the
/// table, as setup's transaction does, so it replaces whatever is installed.
std::string to_text(const Ruleset& rules, bool replace = true);

/// One rule in nft syntax, e.g. `iifname "br-iot" tcp dport 443 redirect to :1443`.
std::string to_text(const Rule& rule);

}  // namespace dashctl::nft
