// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/ntp_source.h"

#include <sys/timex.h>

#include <chrono>

#include <spdlog/spdlog.h>

#include "util/error.h"

namespace dashctl::daemon {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using util::Error;
using util::Exit;

namespace {

ntp::Timestamp now_ntp() {
  return ntp::from_unix_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
}

}  // namespace

ntp::ClockState NtpSource::kernel_clock() {
  timex tx{};
  const int state = ::ntp_adjtime(&tx);
  ntp::ClockState c;
  c.synchronised = state >= 0 && state != TIME_ERROR && !(tx.status & STA_UNSYNC);
  c.max_error_us = tx.maxerror < 0 ? 0 : static_cast<uint32_t>(tx.maxerror);
  return c;
}

NtpSource::NtpSource(asio::io_context& io, util::Ipv4 ip, uint16_t port, Sink sink, ClockState clock)
    : io_(io), sink_(std::move(sink)), clock_(std::move(clock)) {
  socket_.emplace(bind(ip, port));
  ip_ = ip;
  port_ = port;
  receive();
}

udp::socket NtpSource::bind(util::Ipv4 ip, uint16_t port) {
  const udp::endpoint ep(asio::ip::address_v4(ip.value), port);
  udp::socket s(io_);
  boost::system::error_code ec;
  s.open(ep.protocol(), ec);
  if (!ec) s.bind(ep, ec);
  if (ec) {
    const Exit code = ec == asio::error::access_denied ? Exit::no_perm : Exit::unavailable;
    throw Error(code, "answering NTP on " + ip.str() + ":" + std::to_string(port) + ": " + ec.message(),
                ec == asio::error::address_in_use ? "is another 'dashctl run' running? (network.ntp_port)"
                                                  : "set network.ntp = false to do without the NTP responder");
  }
  return s;
}

void NtpSource::rebind(util::Ipv4 ip, uint16_t port) {
  if (ip == ip_ && port == port_) return;
  auto fresh = bind(ip, port);
  boost::system::error_code ec;
  socket_->close(ec);
  socket_.emplace(std::move(fresh));
  ip_ = ip;
  port_ = port;
  receive();
}

void NtpSource::stop() {
  boost::system::error_code ec;
  if (socket_) socket_->close(ec);
}

void NtpSource::receive() {
  socket_->async_receive_from(asio::buffer(buf_), peer_, [this](boost::system::error_code ec, size_t n) {
    if (ec == asio::error::operation_aborted || !socket_->is_open()) return;
    if (!ec) on_datagram(n);
    receive();
  });
}

void NtpSource::on_datagram(size_t n) {
  const auto received = now_ntp();
  const auto request = ntp::parse_request(std::span<const uint8_t>(buf_.data(), n));
  if (!request || !peer_.address().is_v4()) {
    ++counters_.ignored;
    spdlog::debug("ntp: {} bytes from {} that are no client request: no answer", n, peer_.address().to_string());
    return;
  }
  // The answer first: the client measures the round trip.
  const auto answer = ntp::reply(*request, clock_(), received, now_ntp());
  boost::system::error_code ec;
  socket_->send_to(asio::buffer(answer), peer_, 0, ec);
  if (ec) spdlog::debug("ntp: answering {}: {}", peer_.address().to_string(), ec.message());
  else ++counters_.answered;

  press::Sighting s;
  s.source = press::Source::ntp;
  s.ip = util::Ipv4{peer_.address().to_v4().to_uint()};
  s.time = press::Clock::now();
  s.wall = std::chrono::system_clock::now();
  s.detail = "NTP request, version " + std::to_string(request->version);
  sink_(std::move(s));
}

}  // namespace dashctl::daemon
