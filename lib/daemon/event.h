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
/// (del, init, tftp, arp-add, arp-del, relay-snoop, anything unknown), IPv6 events and
/// hardware addresses that are not Ethernet MACs are ignored, as dnsmasq asks. Throws
/// util::Error(Exit::usage) only when there are too few or too many arguments, and
/// util::Error(Exit::data) for an add/old with a supplied hostname whose MAC or IP does not
/// parse.
ParsedEvent parse_dhcp_event(const std::vector<std::string>& args,
                             const std::function<const char*(const char*)>& getenv);

/// The datagram: one line of JSON, at most kMaxDatagram bytes.
inline constexpr size_t kMaxDatagram = 512;
std::string encode(const LeaseEvent& e);
/// nullopt for anything that is not a datagram encode() could have written (wrong fields,
/// types, values, too long).
std::optional<LeaseEvent> decode(std::string_view datagram);

enum class Sent {
  sent,
  no_daemon,  ///< no socket, or nobody bound to it
  busy,       ///< the daemon's queue is full (EAGAIN): dropped rather than wait
  failed,     ///< anything else; `error` says what
};
/// Sends one datagram to the unix datagram socket at `path`, never blocking.
Sent send_event(const std::string& path, const std::string& datagram, std::string* error = nullptr);

}  // namespace dashctl::daemon
