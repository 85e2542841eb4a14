#include "daemon/lease_events.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <spdlog/spdlog.h>

#include "util/error.h"

namespace dashctl::daemon {
namespace {

namespace asio = boost::asio;
using datagram = asio::local::datagram_protocol;
using util::Error;
using util::Exit;

}  // namespace

LeaseEventSocket::LeaseEventSocket(asio::io_context& io, std::string path, Sink sink)
    : path_(std::move(path)), sink_(std::move(sink)) {
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw Error(Exit::cant_create, path_ + " exists and is not a socket", "set daemon.event_socket elsewhere");
    ::unlink(path_.c_str());  // the control socket showed no other daemon runs
  }
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
  receive();
}

LeaseEventSocket::~LeaseEventSocket() {
  if (socket_) ::unlink(path_.c_str());
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
