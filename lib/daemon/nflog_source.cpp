// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/nflog_source.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "nflog/packet.h"
#include "util/error.h"

namespace dashctl::daemon {

namespace asio = boost::asio;
using util::Error;
using util::Exit;

NflogSource::NflogSource(asio::io_context& io, Sink sink) : io_(io), sink_(std::move(sink)) {}

NflogSource::~NflogSource() { stop(); }

void NflogSource::start(uint16_t group) {
  try {
    socket_ = std::make_unique<nflog::Socket>(group);
  } catch (const Error& e) {
    if (e.code() == Exit::no_perm)
      spdlog::info("nflog source off: no CAP_NET_ADMIN (presses are seen from dnsmasq's events and connections)");
    else
      spdlog::warn("nflog source off: {}", e.what());
    return;
  }
  desc_.emplace(io_, ::dup(socket_->fd()));
  spdlog::info("nflog source on: NFLOG group {}", group);
  wait();
}

void NflogSource::stop() {
  boost::system::error_code ec;
  if (desc_) desc_->close(ec);
  desc_.reset();
  socket_.reset();
}

void NflogSource::rebind(uint16_t group) {
  if (socket_ && socket_->group() == group) return;
  stop();
  start(group);
}

std::optional<uint16_t> NflogSource::group() const {
  if (!socket_) return std::nullopt;
  return socket_->group();
}

uint64_t NflogSource::lost() const { return socket_ ? socket_->stats().lost : 0; }

void NflogSource::wait() {
  desc_->async_wait(asio::posix::descriptor_base::wait_read, [this](boost::system::error_code ec) {
    if (ec || !socket_) return;
    try {
      socket_->drain([this](const nflog::Logged& l) { on_logged(l); });
    } catch (const Error& e) {
      spdlog::error("nflog source off: {}", e.what());
      stop();
      return;
    }
    wait();
  });
}

void NflogSource::on_logged(const nflog::Logged& l) {
  ++counters_.packets;
  const auto packet = nflog::parse_ipv4_udp(l.payload);
  if (!packet || (!packet->dhcp && !packet->question)) {
    ++counters_.malformed;
    return;
  }
  press::Sighting s;
  s.source = press::Source::nflog;
  s.mac = l.mac;
  s.ip = packet->src;  // 0.0.0.0 for a DHCP request before the button has its address
  s.time = press::Clock::now();
  s.wall = std::chrono::system_clock::now();
  s.detail = packet->dhcp ? std::string("DHCP request")
                          : "DNS query " + nflog::qtype_name(packet->question->type) + " " + packet->question->name;
  sink_(std::move(s));
}

}  // namespace dashctl::daemon
