// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/lease_events.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/buffer.hpp>
#include <spdlog/spdlog.h>

#include "daemon/socket_file.h"
#include "util/error.h"
#include "util/posix.h"

namespace dashctl::daemon {
namespace {

namespace asio = boost::asio;
using datagram = asio::local::datagram_protocol;
using util::Error;
using util::Exit;

}  // namespace

LeaseEventSocket::LeaseEventSocket(asio::io_context& io, std::string path, Sink sink, Inside inside)
    : path_(std::move(path)), sink_(std::move(sink)), inside_(std::move(inside)) {
  prepare_socket_dir(path_, "daemon.event_socket");
  // Another daemon with its own control socket may use this one: it is live when a datagram
  // socket can connect to it (or when this user may not even try).
  claim_socket_path(path_, "daemon.event_socket", "receives dnsmasq's events", [](const std::string& p) {
    const util::Fd probe(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (probe.get() < 0 || p.size() >= sizeof addr.sun_path) return false;
    std::memcpy(addr.sun_path, p.data(), p.size());
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return true;
    return errno != ECONNREFUSED && errno != ENOENT;
  });
  const mode_t old = ::umask(0007);
  boost::system::error_code ec;
  socket_.emplace(io);
  socket_->open(datagram(), ec);
  if (!ec) socket_->bind(datagram::endpoint(path_), ec);
  ::umask(old);
  if (ec) {
    socket_.reset();
    throw Error(Exit::cant_create, "binding the event socket " + path_ + ": " + ec.message());
  }
  file_ = BoundSocketFile(path_);
  receive();
}

LeaseEventSocket::~LeaseEventSocket() {
  if (socket_) file_.remove();
}

void LeaseEventSocket::stop() {
  boost::system::error_code ec;
  if (socket_) socket_->close(ec);
}

void LeaseEventSocket::receive() {
  socket_->async_receive(asio::buffer(buf_), [this](boost::system::error_code ec, size_t n) {
    if (ec == asio::error::operation_aborted || !socket_->is_open()) return;
    if (!ec) on_datagram(std::string_view(buf_.data(), n));
    receive();
  });
}

void LeaseEventSocket::on_datagram(std::string_view bytes) {
  const auto e = decode(bytes);
  if (!e) {
    ++counters_.bad_datagrams;
    spdlog::debug("event socket: a datagram that is no lease event ({} bytes)", bytes.size());
    return;
  }
  if (inside_ && !inside_(e->ip)) {
    // dnsmasq serves other networks too; an address outside the buttons' is no button's,
    // whatever MAC the datagram claims (and whoever could write it).
    ++counters_.outside;
    spdlog::debug("event socket: {} {} is outside the IoT networks: refused", e->action, e->ip.str());
    return;
  }
  ++counters_.events;
  press::Sighting s;
  s.source = press::Source::dhcp;
  s.mac = e->mac;
  s.ip = e->ip;
  s.time = press::Clock::now();
  s.wall = std::chrono::system_clock::now();
  s.detail = "dnsmasq: " + e->action + " " + e->ip.str() + (e->hostname.empty() ? "" : " " + e->hostname);
  sink_(std::move(s));
}

}  // namespace dashctl::daemon
