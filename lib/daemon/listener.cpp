// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/listener.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <memory>

#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "daemon/tls_endpoint.h"
#include "util/error.h"

namespace dashctl::daemon {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using util::Error;
using util::Exit;
using namespace std::chrono_literals;

/// What the listener reads of a connection before it closes it: the ClientHello.
constexpr size_t kFirstBytes = 1024;
/// Connections taken off the listener in one turn of the loop.
constexpr int kAcceptBatch = 64;

/// Logs (at debug level) what a client sent first.
void first_bytes(const char* buf, size_t n) {
  if (n < 3) return;
  const bool tls = buf[0] == 0x16 && buf[1] == 0x03;
  spdlog::debug("listener: {} bytes{}", n, tls ? ", a TLS handshake" : ", not TLS");
}

}  // namespace

Listener::Listener(asio::io_context& io, util::Ipv4 ip, uint16_t port, Limits limits, Sink sink)
    : io_(io), limits_(limits), sink_(std::move(sink)) {
  acceptor_.emplace(bind(ip, port));
  ip_ = ip;
  port_ = port;
  accept();
}

tcp::acceptor Listener::bind(util::Ipv4 ip, uint16_t port) {
  const tcp::endpoint ep(asio::ip::address_v4(ip.value), port);
  tcp::acceptor a(io_);
  boost::system::error_code ec;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) a.non_blocking(true, ec);  // accept_ready takes connections until none is left
  if (ec) {
    const Exit code = ec == asio::error::access_denied ? Exit::no_perm : Exit::unavailable;
    throw Error(code, "listening on " + ip.str() + ":" + std::to_string(port) + ": " + ec.message(),
                ec == asio::error::address_in_use ? "is another 'dashctl run' running?" : "");
  }
  return a;
}

void Listener::rebind(util::Ipv4 ip, uint16_t port) {
  if (ip == ip_ && port == port_) return;
  auto fresh = bind(ip, port);
  boost::system::error_code ec;
  acceptor_->close(ec);
  acceptor_.emplace(std::move(fresh));
  ip_ = ip;
  port_ = port;
  accept();
}

void Listener::stop() {
  stopped_ = true;
  boost::system::error_code ec;
  if (acceptor_) acceptor_->close(ec);
}

/// Waits for the listener to have connections queued, then takes them itself (see
/// accept_ready), rather than through Asio's async_accept: most connections then cost the
/// daemon three system calls and never enter the loop's epoll set.
void Listener::accept() {
  acceptor_->async_wait(tcp::acceptor::wait_read, [this](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted || !acceptor_ || !acceptor_->is_open()) return;
    if (ec) spdlog::warn("listener: waiting for connections: {}", ec.message());
    if (ec || !accept_ready()) {
      // Out of descriptors (a flood): pause briefly rather than spin on the error.
      auto pause = std::make_shared<asio::steady_timer>(io_, 100ms);
      pause->async_wait([this, pause](boost::system::error_code) {
        if (acceptor_ && acceptor_->is_open()) accept();
      });
      return;
    }
    accept();
  });
}

/// Accepts what the kernel has queued, up to kAcceptBatch connections a turn so that the
/// other sources are not starved in a flood. Returns false when accepting failed for want
/// of descriptors or memory, which a pause may cure.
bool Listener::accept_ready() {
  const int listener = acceptor_->native_handle();
  for (int i = 0; i < kAcceptBatch; ++i) {
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    const int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      on_connection(util::Fd(fd), peer);
      continue;
    }
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return true;
    // The client gave up while queued, a signal, a firewall's refusal: the next one.
    if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM) continue;
    spdlog::warn("listener: accepting: {}", util::errno_text(err));
    return false;
  }
  return true;
}

/// A connection is a sighting the moment it is accepted. Then the listener reads what
/// the client sends first (its TLS ClientHello, at most 1 KiB) and closes. Usually that is
/// there already and is read at once; otherwise the connection waits in the loop, so that
/// an idle client holds a place until its deadline at most, and at max_connections new
/// connections are closed at once.
void Listener::on_connection(util::Fd fd, const sockaddr_in& peer) {
  ++counters_.connections;
  bool known = false;
  if (peer.sin_family == AF_INET) {
    press::Sighting s;
    s.source = press::Source::connect;
    s.ip = util::Ipv4{ntohl(peer.sin_addr.s_addr)};
    s.time = press::Clock::now();
    s.wall = std::chrono::system_clock::now();
    s.detail = "connection from " + s.ip.str() + ":" + std::to_string(ntohs(peer.sin_port));
    const auto accepted = s.time;
    known = sink_(std::move(s));
    accept_to_dispatch_.add(press::Clock::now() - accepted);
  }
  if (open_ >= limits_.max_connections || stopped_) {
    ++counters_.busy;
    return;  // fd closes it
  }
  if (known && tls_ && tls_->take(fd, util::Ipv4{ntohl(peer.sin_addr.s_addr)})) return;
  std::array<char, kFirstBytes> first;
  const ssize_t n = ::recv(fd.get(), first.data(), first.size(), 0);
  if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    if (n > 0) first_bytes(first.data(), static_cast<size_t>(n));
    return;  // read, or the client is gone: fd closes it
  }

  struct Conn {
    Conn(tcp::socket s, asio::io_context& io) : socket(std::move(s)), deadline(io) {}
    tcp::socket socket;
    asio::steady_timer deadline;
    std::array<char, kFirstBytes> buf{};
  };
  boost::system::error_code ec;
  tcp::socket socket(io_);
  socket.assign(tcp::v4(), fd.get(), ec);
  if (ec) {
    spdlog::warn("listener: watching a connection: {}", ec.message());
    return;
  }
  fd.release();  // the socket owns it now
  ++open_;
  auto conn = std::make_shared<Conn>(std::move(socket), io_);
  conn->deadline.expires_after(limits_.timeout);
  conn->deadline.async_wait([conn](boost::system::error_code e) {
    if (!e) conn->socket.close(e);
  });
  conn->socket.async_read_some(asio::buffer(conn->buf), [this, conn](boost::system::error_code, size_t got) {
    first_bytes(conn->buf.data(), got);
    boost::system::error_code e;
    conn->deadline.cancel();
    conn->socket.close(e);
    --open_;
  });
}

}  // namespace dashctl::daemon
