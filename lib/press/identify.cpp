// SPDX-License-Identifier: GPL-2.0-or-later
#include "press/identify.h"

#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "util/error.h"
#include "util/fs.h"
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

bool LeaseFile::Key::operator==(const Key& o) const {
  return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
         mtime.tv_nsec == o.mtime.tv_nsec && ctime.tv_sec == o.ctime.tv_sec && ctime.tv_nsec == o.ctime.tv_nsec;
}

std::optional<util::Mac> LeaseFile::mac(const std::string& path, util::Ipv4 ip) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    key_.reset();
    text_.clear();
    if (errno == ENOENT) return std::nullopt;
    util::throw_system("reading " + path, errno, util::Exit::no_input);
  }
  const Key key{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
  if (path != path_ || !key_ || !(*key_ == key)) {
    const auto read_at = std::chrono::system_clock::now();
    auto text = util::read_file(path);
    ++reads_;
    path_ = path;
    text_ = text.value_or("");
    // The key is the one from before the read: a write during the read changes the file's
    // times, so the next question reads it again. A modification that recent could also be
    // followed by one the times do not show.
    const auto modified = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    if (text && read_at - modified >= std::chrono::seconds(2))
      key_ = key;
    else
      key_.reset();
    if (!text) return std::nullopt;
  }
  return mac_from_leases(text_, ip);
}

const config::Button* match(const config::Config& config, const std::optional<util::Mac>& mac, util::Ipv4 ip,
                            const config::Button** contradicted) {
  if (contradicted) *contradicted = nullptr;
  if (mac) {
    for (const auto& b : config.buttons)
      if (b.mac == mac) return &b;
  }
  if (ip == util::Ipv4{}) return nullptr;
  for (const auto& b : config.buttons) {
    if (b.ip != ip) continue;
    if (!mac || !b.mac) return &b;
    if (contradicted) *contradicted = &b;
    return nullptr;
  }
  return nullptr;
}

Identifier::Identifier(NeighbourLookup neighbours, LeaseLookup leases)
    : neighbours_(std::move(neighbours)), leases_(std::move(leases)) {}

bool Identifier::inside(util::Ipv4 ip) const {
  return networks_.empty() ||
         std::any_of(networks_.begin(), networks_.end(), [&](const util::Ipv4Prefix& n) { return n.contains(ip); });
}

Identity Identifier::identify(const config::Config& config, util::Ipv4 ip,
                              std::optional<util::Mac> mac) const {
  const bool ask = !mac && inside(ip);
  // A failing lookup costs only the MAC: the static address may still name the button, so
  // it is logged (at debug level: it happens per connection) and the next source is asked.
  if (ask && neighbours_) {
    try {
      mac = neighbours_(ip, config.network.iot_interface);
    } catch (const util::Error& e) {
      spdlog::debug("neighbour lookup of {} on {}: {}", ip.str(), config.network.iot_interface, e.what());
    }
  }
  // The kernel forgets a neighbour after a while; dnsmasq remembers the lease for its lifetime.
  if (ask && !mac && leases_ && !config.dnsmasq.leases_file.empty()) {
    try {
      mac = leases_(config.dnsmasq.leases_file, ip);
    } catch (const util::Error& e) {
      spdlog::debug("lease file {}: {}", config.dnsmasq.leases_file, e.what());
    }
  }

  Identity id;
  id.button = match(config, mac, ip, &id.contradicted);
  id.mac = mac;
  id.ip = ip;
  if (id.button) {
    if (!id.mac) id.mac = id.button->mac;
    if (id.ip == util::Ipv4{} && id.button->ip) id.ip = *id.button->ip;
  }
  return id;
}

}  // namespace dashctl::press
