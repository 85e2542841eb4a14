// SPDX-License-Identifier: GPL-2.0-or-later
#include "util/interface.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <memory>

#include "util/error.h"

namespace dashctl::util {

bool interface_exists(const std::string& name) { return ::if_nametoindex(name.c_str()) != 0; }

std::vector<InterfaceAddress> interface_ipv4(const std::string& name) {
  std::vector<InterfaceAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) util::throw_system("listing interface addresses", errno);
  std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> guard(list, ::freeifaddrs);
  for (const ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || name != a->ifa_name) continue;
    sockaddr_in addr{}, mask{};
    std::memcpy(&addr, a->ifa_addr, sizeof addr);
    std::memcpy(&mask, a->ifa_netmask, sizeof mask);
    const uint32_t ip = ntohl(addr.sin_addr.s_addr);
    const uint32_t m = ntohl(mask.sin_addr.s_addr);
    out.push_back({util::Ipv4{ip}, util::Ipv4Prefix{util::Ipv4{ip & m}, std::popcount(m)}});
  }
  return out;
}

}  // namespace dashctl::util
