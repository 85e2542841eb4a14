// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The press source `connect`: the TCP listener the firewall redirects the buttons' port 443
// to. Every accepted IPv4 connection is a sighting. A known button's connection then goes to
// the TLS endpoint (tls_endpoint.h), when there is one and its caps allow; any other is read
// (what the client sends first: its TLS ClientHello) and closed.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "press/press.h"
#include "util/histogram.h"
#include "util/net.h"
#include "util/posix.h"

struct sockaddr_in;

namespace dashctl::daemon {

class TlsEndpoint;

class Listener {
 public:
  /// Takes a sighting; returns true when it came from a known button.
  using Sink = std::function<bool(press::Sighting)>;

  struct Limits {
    size_t max_connections = 64;  ///< open at once; beyond it new ones are closed at once
    std::chrono::milliseconds timeout{2000};  ///< how long a client may take to send
  };
  struct Counters {
    uint64_t connections = 0;
    uint64_t busy = 0;  ///< closed at once: max_connections were open
  };

  /// Binds and listens on ip:port and starts accepting. Throws util::Error (Exit::no_perm
  /// or Exit::unavailable) when it cannot bind.
  Listener(boost::asio::io_context& io, util::Ipv4 ip, uint16_t port, Limits limits, Sink sink);

  /// Moves to another address or port: binds the new one first, so that on failure
  /// (util::Error) the old one keeps serving. Nothing happens when neither changed.
  void rebind(util::Ipv4 ip, uint16_t port);
  void set_limits(Limits limits) { limits_ = limits; }
  /// Where known buttons' connections go from now on; nullptr: nowhere (network.tls off).
  void set_tls(TlsEndpoint* tls) { tls_ = tls; }
  /// No new connections: the socket closes; connections being read finish.
  void stop();

  util::Ipv4 address() const { return ip_; }
  uint16_t port() const { return port_; }
  const Counters& counters() const { return counters_; }
  size_t open_connections() const { return open_; }
  /// Per connection, from its accept to the end of its sighting (the button found, and a
  /// press's actions started).
  const util::Histogram& accept_to_dispatch() const { return accept_to_dispatch_; }

 private:
  boost::asio::ip::tcp::acceptor bind(util::Ipv4 ip, uint16_t port);
  void accept();
  bool accept_ready();
  void on_connection(util::Fd fd, const sockaddr_in& peer);

  boost::asio::io_context& io_;
  Limits limits_;
  Sink sink_;
  TlsEndpoint* tls_ = nullptr;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  util::Ipv4 ip_;
  uint16_t port_ = 0;
  Counters counters_;
  size_t open_ = 0;
  bool stopped_ = false;
  util::Histogram accept_to_dispatch_;
};

}  // namespace dashctl::daemon
