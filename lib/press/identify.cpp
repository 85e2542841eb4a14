#include "press/identify.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "util/error.h"
#include "util/text.h"

namespace dashctl::press {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<util::Mac> mac_from_leases(std::string_view text, util::Ipv4 ip) {
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);

    // IPv4 lines are "EXPIRY MAC IP HOSTNAME CLIENTID". The "duid SERVER-DUID" line and the
    // IPv6 lines after it ("EXPIRY IAID IPv6 HOSTNAME CLIENT-DUID") fail the MAC or the
    // address check, as do hardware addresses that are not Ethernet ("06-00:11:..."), which
    // dnsmasq writes with their type in front.
    auto f = util::split_words(line);
    if (f.size() < 3 || !all_digits(f[0])) continue;
    auto lease_ip = util::Ipv4::parse(f[2]);
    if (!lease_ip || *lease_ip != ip) continue;
    if (auto mac = util::Mac::parse(f[1])) return mac;
  }
  return std::nullopt;
}

Identifier::Identifier(NeighbourLookup neighbours, ReadFile read_file)
    : neighbours_(std::move(neighbours)), read_file_(std::move(read_file)) {}

Identity Identifier::identify(const config::Config& config, util::Ipv4 ip,
                              std::optional<util::Mac> mac) const {
  // A failing lookup costs only the MAC: the static address may still name the button, so
  // it is logged (at debug level: it happens per connection) and the next source is asked.
  if (!mac && neighbours_) {
    try {
      mac = neighbours_(ip, config.network.iot_interface);
    } catch (const util::Error& e) {
      spdlog::debug("neighbour lookup of {} on {}: {}", ip.str(), config.network.iot_interface, e.what());
    }
  }
  // The kernel forgets a neighbour after a while; dnsmasq remembers the lease for its lifetime.
  if (!mac && read_file_ && !config.dnsmasq.leases_file.empty()) {
    try {
      if (auto text = read_file_(config.dnsmasq.leases_file)) mac = mac_from_leases(*text, ip);
    } catch (const util::Error& e) {
      spdlog::debug("lease file {}: {}", config.dnsmasq.leases_file, e.what());
    }
  }

  Identity id;
  id.mac = mac;
  if (mac) {
    for (const auto& b : config.buttons)
      if (b.mac == mac) {
        id.button = &b;
        return id;
      }
  }
  for (const auto& b : config.buttons)
    if (b.ip == ip) {
      id.button = &b;
      return id;
    }
  return id;
}

}  // namespace dashctl::press
