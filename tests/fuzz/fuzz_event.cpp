// SPDX-License-Identifier: GPL-2.0-or-later
// dhcp-event's parsers on arbitrary bytes: decode() of a datagram from the event socket, and
// parse_dhcp_event() of dnsmasq's arguments and environment. Either gives an event or a
// refusal, never a crash; and what either accepts survives encode() and decode() unchanged.
//
// The input is the datagram as it is; split at newlines and NULs, it is also the script's
// command line, with fields NAME=value taken out as the environment
// (DNSMASQ_SUPPLIED_HOSTNAME=bedroom, DNSMASQ_INTERFACE=br-iot).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/event.h"
#include "util/error.h"

namespace {

using namespace dashctl;

/// Aborts (a finding) unless `e` is something the daemon takes back as it is.
void require_round_trip(const daemon::LeaseEvent& e) {
  if (daemon::event_problem(e)) std::abort();
  const std::string datagram = daemon::encode(e);
  if (datagram.size() > daemon::kMaxDatagram || daemon::decode(datagram) != e) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (const auto e = daemon::decode(bytes)) require_round_trip(*e);

  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  for (size_t start = 0; start <= bytes.size();) {
    size_t end = bytes.find_first_of(std::string_view("\n\0", 2), start);
    if (end == std::string_view::npos) end = bytes.size();
    const std::string field(bytes.substr(start, end - start));
    const size_t eq = field.find('=');
    if (field.starts_with("DNSMASQ_") && eq != std::string::npos) {
      env[field.substr(0, eq)] = field.substr(eq + 1);
    } else {
      args.push_back(field);
    }
    start = end + 1;
  }
  if (!args.empty() && args.back().empty()) args.pop_back();  // a final newline
  const auto getenv = [&env](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  try {
    const auto parsed = daemon::parse_dhcp_event(args, getenv);
    if (parsed.event) {
      require_round_trip(*parsed.event);
    } else if (parsed.ignored.empty()) {
      std::abort();  // an ignored event always says why
    }
  } catch (const util::Error& e) {
    if (e.code() != util::Exit::usage && e.code() != util::Exit::data) std::abort();
  }
  return 0;
}
