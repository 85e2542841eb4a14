// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/event.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/posix.h"
#include "util/text.h"

namespace dashctl::daemon {
namespace {

using util::Error;
using util::Exit;

constexpr size_t kMaxHostname = 255;

bool is_wake_up_action(std::string_view action) { return action == "add" || action == "old"; }

bool is_hex_byte(std::string_view s) {
  return s.size() == 2 && std::isxdigit(static_cast<unsigned char>(s[0])) &&
         std::isxdigit(static_cast<unsigned char>(s[1]));
}

/// A hardware address as dnsmasq writes one that is not an Ethernet MAC: `<hwtype>-`
/// before the bytes for other hardware types, or a DHCPv6 DUID (bytes of any number, colon
/// separated). Such events are ignored; anything else that is no MAC is malformed.
bool is_other_hardware_address(std::string_view text) {
  if (text.size() >= 3 && text[2] == '-' && is_hex_byte(text.substr(0, 2))) {
    text.remove_prefix(3);
    if (text.empty()) return true;  // a hardware type without an address
  }
  for (size_t at = 0;; at += 3) {
    if (!is_hex_byte(text.substr(at, 2))) return false;
    if (at + 2 == text.size()) return true;
    if (text[at + 2] != ':') return false;
  }
}

/// True when `s` is well-formed UTF-8: what JSON can carry.
bool is_utf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

/// A field of the datagram's object, or nullptr; never throws.
const nlohmann::json* field(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

const std::string* string_field(const nlohmann::json& object, const char* key) {
  const auto* v = field(object, key);
  return v && v->is_string() ? v->get_ptr<const std::string*>() : nullptr;
}

}  // namespace

std::optional<std::string> event_problem(const LeaseEvent& e) {
  if (!is_wake_up_action(e.action)) return "action " + util::quoted(e.action) + " is not add or old";
  if (e.hostname.size() > kMaxHostname)
    return "the host name is longer than " + std::to_string(kMaxHostname) + " bytes";
  for (const char c : e.hostname) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "the host name contains a control character";
  }
  if (!is_utf8(e.hostname)) return "the host name is not UTF-8";
  if (!e.interface.empty()) {
    if (const auto problem = util::interface_name_problem(e.interface))
      return "interface " + util::quoted(e.interface) + ": " + *problem;
  }
  return std::nullopt;
}

ParsedEvent parse_dhcp_event(const std::vector<std::string>& args,
                             const std::function<const char*(const char*)>& getenv) {
  const char* hint = "see 'dashctl dhcp-event --help'";
  if (args.empty()) throw Error(Exit::usage, "dhcp-event: expected ACTION MAC IP [HOST]", hint);
  const std::string& action = args[0];
  if (!is_wake_up_action(action)) return {std::nullopt, "action " + util::quoted(action) + " is not add or old"};
  if (args.size() < 3 || args.size() > 4)
    throw Error(Exit::usage, "dhcp-event: " + action + " takes MAC IP [HOST], not " +
                                 std::to_string(args.size() - 1) + " argument" + (args.size() == 2 ? "" : "s"),
                hint);
  const std::string& mac_text = args[1];
  const std::string& ip_text = args[2];
  if (!getenv("DNSMASQ_SUPPLIED_HOSTNAME"))
    return {std::nullopt, action + " " + ip_text +
                              " without DNSMASQ_SUPPLIED_HOSTNAME: dnsmasq reading its leases, not a wake-up"};
  if (ip_text.find(':') != std::string::npos)
    return {std::nullopt, action + " " + ip_text + ": a DHCPv6 lease"};

  LeaseEvent e;
  const auto mac = util::Mac::parse(mac_text);
  if (!mac) {
    if (is_other_hardware_address(mac_text))
      return {std::nullopt, action + " " + ip_text + ": hardware address " + mac_text + " is not an Ethernet MAC"};
    throw Error(Exit::data, "dhcp-event: " + util::quoted(mac_text) + " is not a MAC address");
  }
  const auto ip = util::Ipv4::parse(ip_text);
  if (!ip) throw Error(Exit::data, "dhcp-event: " + util::quoted(ip_text) + " is not an IPv4 address");
  e.action = action;
  e.mac = *mac;
  e.ip = *ip;
  if (args.size() == 4) e.hostname = args[3];
  if (const char* interface = getenv("DNSMASQ_INTERFACE")) e.interface = interface;
  if (const auto problem = event_problem(e)) throw Error(Exit::data, "dhcp-event: " + *problem);
  return {std::move(e), {}};
}

std::string encode(const LeaseEvent& e) {
  // In this order, for people reading a capture; decode() does not mind the order.
  nlohmann::ordered_json j;
  j["v"] = kDatagramVersion;
  j["action"] = e.action;
  j["mac"] = e.mac.str();
  j["ip"] = e.ip.str();
  j["host"] = e.hostname;
  j["interface"] = e.interface;
  // An event with a problem never gets here; replacing keeps a bad byte from throwing.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<LeaseEvent> decode(std::string_view datagram) {
  if (datagram.size() > kMaxDatagram) return std::nullopt;
  static const std::set<std::string, std::less<>> kKeys{"v", "action", "mac", "ip", "host", "interface"};
  // Every key of the top-level object, counted as the parser meets it: nlohmann keeps only
  // the last of repeated keys.
  bool repeated = false;
  std::set<std::string, std::less<>> seen;
  const nlohmann::json::parser_callback_t callback = [&](int depth, nlohmann::json::parse_event_t event,
                                                         nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string())
      repeated = repeated || !seen.insert(parsed.get<std::string>()).second;
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(datagram.begin(), datagram.end(), callback, /*allow_exceptions=*/false);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  if (repeated || !j.is_object() || j.size() != kKeys.size()) return std::nullopt;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!kKeys.contains(it.key())) return std::nullopt;
  }
  const auto* version = field(j, "v");
  if (!version || !version->is_number_integer() || *version != kDatagramVersion) return std::nullopt;
  const auto *action = string_field(j, "action"), *mac = string_field(j, "mac"), *ip = string_field(j, "ip"),
             *host = string_field(j, "host"), *interface = string_field(j, "interface");
  if (!action || !mac || !ip || !host || !interface) return std::nullopt;

  LeaseEvent e;
  const auto parsed_mac = util::Mac::parse(*mac);
  const auto parsed_ip = util::Ipv4::parse(*ip);
  if (!parsed_mac || parsed_mac->str() != *mac || !parsed_ip || parsed_ip->str() != *ip) return std::nullopt;
  e.action = *action;
  e.mac = *parsed_mac;
  e.ip = *parsed_ip;
  e.hostname = *host;
  e.interface = *interface;
  if (event_problem(e)) return std::nullopt;
  return e;
}

Sent send_event(const std::string& path, const std::string& datagram, std::string* error) {
  const auto fail = [&](Sent result, std::string why) {
    if (error) *error = std::move(why);
    return result;
  };
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return fail(Sent::failed, "the socket path " + util::quoted(path) + " is empty or longer than " +
                                  std::to_string(sizeof addr.sun_path - 1) + " bytes");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const util::Fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return fail(Sent::failed, "creating a unix datagram socket: " + util::errno_text(errno));
  for (;;) {
    const ssize_t n = ::sendto(fd.get(), datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                               reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    if (n >= 0) return Sent::sent;  // a datagram goes whole or not at all
    const int err = errno;
    if (err == EINTR) continue;
    // No socket file, or one left behind by a daemon that is gone.
    if (err == ENOENT || err == ECONNREFUSED) return fail(Sent::no_daemon, util::errno_text(err));
    if (err == EAGAIN || err == EWOULDBLOCK) return fail(Sent::busy, util::errno_text(err));
    return fail(Sent::failed, "sending to " + path + ": " + util::errno_text(err));
  }
}

std::string dropped_message(Sent result, const std::string& path, const std::string& error) {
  switch (result) {
    case Sent::no_daemon:
      return "dhcp-event: no daemon on " + path + "; event dropped";
    case Sent::busy:
      return "dhcp-event: the daemon on " + path + " is busy; event dropped";
    case Sent::sent:
    case Sent::failed:
      break;
  }
  return "dhcp-event: " + error + "; event dropped";
}

}  // namespace dashctl::daemon
