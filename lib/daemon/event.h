// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// dnsmasq's lease events, from `dashctl dhcp-event` (run by dnsmasq as its dhcp-script) to
// `dashctl run`: parsed from the script's arguments and environment, sent as one datagram,
// decoded by the daemon. Pure except send_event(); the datagram comes from a socket, so
// decode() is fuzzed.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/net.h"

namespace dashctl::daemon {

/// A lease event that is a button waking up.
struct LeaseEvent {
  std::string action;       ///< "add" or "old"
  util::Mac mac;
  util::Ipv4 ip;
  std::string hostname;     ///< the HOST argument; may be empty
  std::string interface;    ///< $DNSMASQ_INTERFACE; may be empty
  bool operator==(const LeaseEvent&) const = default;
};

/// What dhcp-event makes of its arguments.
struct ParsedEvent {
  std::optional<LeaseEvent> event;  ///< set: a wake-up, to be sent to the daemon
  std::string ignored;              ///< otherwise why it is ignored, for a debug log line
};

/// Parses `ACTION MAC IP [HOST]` (args without the verb) and dnsmasq's environment (looked
/// up through `getenv`). A wake-up is `add` or `old` with DNSMASQ_SUPPLIED_HOSTNAME set
/// (the `old` events dnsmasq emits for every lease when it starts carry none). Other actions
/// (del, init, tftp, arp-add, arp-del, relay-snoop, anything unknown, whatever their
/// arguments), DHCPv6 events (a DUID and an IPv6 address) and hardware addresses that are
/// not Ethernet MACs (dnsmasq writes `<hwtype>-xx:xx:...` for those) are ignored, as dnsmasq
/// asks. Throws util::Error(Exit::usage) only when there is no argument, or an add/old has
/// other than 3 or 4; util::Error(Exit::data) for an add/old with a supplied hostname whose
/// MAC, IP, HOST or $DNSMASQ_INTERFACE is malformed (what event_problem() names).
ParsedEvent parse_dhcp_event(const std::vector<std::string>& args,
                             const std::function<const char*(const char*)>& getenv);

/// Why `e` cannot be sent (action not add/old; a hostname over 255 bytes, with control
/// characters or not UTF-8; an interface that is not an interface name), or nullopt.
/// What parse_dhcp_event() returns and decode() accepts never has one.
std::optional<std::string> event_problem(const LeaseEvent& e);

/// The datagram: one line of JSON without a newline, at most kMaxDatagram bytes, e.g.
/// {"v":1,"action":"old","mac":"ac:63:be:00:00:01","ip":"10.77.0.201","host":"bedroom","interface":"br-iot"}
/// (the longest hostname, all quotes, escapes to 510 bytes: the bound leaves room for it).
inline constexpr size_t kMaxDatagram = 1024;
inline constexpr int kDatagramVersion = 1;
/// The datagram of an event without an event_problem().
std::string encode(const LeaseEvent& e);
/// nullopt for anything that is not a datagram encode() could have written: not one JSON
/// object, another version, missing, extra or repeated fields, wrong types, a MAC or IP
/// not in its canonical form, an event_problem(), over kMaxDatagram bytes. Never throws.
std::optional<LeaseEvent> decode(std::string_view datagram);

enum class Sent {
  sent,
  no_daemon,  ///< no socket, or nobody bound to it
  busy,       ///< the daemon's queue is full (EAGAIN): dropped rather than wait
  failed,     ///< anything else; `error` says what
};
/// Sends one datagram to the unix datagram socket at `path`, never blocking.
Sent send_event(const std::string& path, const std::string& datagram, std::string* error = nullptr);

/// What `dashctl dhcp-event` and the dhcp-script helper warn when an event could not be
/// sent (`result` not Sent::sent; `error` what send_event() said), e.g.
/// "dhcp-event: no daemon on /run/dashctl/events.sock; event dropped".
std::string dropped_message(Sent result, const std::string& path, const std::string& error);

}  // namespace dashctl::daemon
