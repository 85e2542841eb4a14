// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The buttons' TLS endpoint: for a connection from a known button the listener hands the
// socket here, and a TLS server handshake is completed with dashctl's own key and
// self-signed certificate (tls/identity.h), so that the button ends its attempt at once
// instead of retrying for half a minute. TLS 1.0 to 1.3, with or without SNI, RSA key
// exchange included. After the handshake (or the client's alert or close) what the client
// sends is read for a short bounded time, its size logged at debug level, and the
// connection closed. Unknown devices never get here.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "util/net.h"
#include "util/posix.h"

namespace dashctl::daemon {

/// The TLS endpoint's caps, pure (time passed in): at most `max_at_once` handshakes at a
/// time, and at most `per_window` handshakes per address within `window`, so that a device
/// flooding from a button's address cannot burn the daemon's CPU. Memory stays bounded: the
/// addresses whose window has passed are forgotten once there are many.
class HandshakeCap {
 public:
  using Clock = std::chrono::steady_clock;
  /// Whether a handshake with `peer` may start now, `running` being those under way;
  /// counts it when it may.
  bool allow(util::Ipv4 peer, Clock::time_point now, size_t running, size_t max_at_once, unsigned per_window,
             std::chrono::milliseconds window);
  size_t addresses() const { return recent_.size(); }

  /// Addresses remembered before the forgotten ones are swept out.
  static constexpr size_t kSweepAt = 4096;

 private:
  std::map<util::Ipv4, std::deque<Clock::time_point>> recent_;
};

class TlsEndpoint {
 public:
  struct Limits {
    size_t max_handshakes = 16;                ///< at once; beyond it a connection is read and closed
    unsigned per_window = 6;                   ///< handshakes per address within `window`
    std::chrono::milliseconds window{10'000};  ///< the per-address cap's window
    std::chrono::milliseconds timeout{2000};   ///< for the handshake
    std::chrono::milliseconds linger{1000};    ///< reading what follows the handshake
  };
  struct Counters {
    uint64_t handshakes = 0;  ///< completed
    uint64_t alerts = 0;      ///< the client refused the handshake: an alert, or it closed
    uint64_t failed = 0;      ///< timed out, or not TLS a server can answer
    uint64_t capped = 0;      ///< not attempted: the caps were reached
  };

  /// Checks the key and certificate (PEM files) as the endpoint will use them, in a child
  /// process; the endpoint's own TLS context is made at the first connection it takes, so a
  /// daemon no button has reached maps none of OpenSSL's tables. Throws util::Error
  /// (Exit::data) when they cannot be used.
  TlsEndpoint(boost::asio::io_context& io, const std::string& key_file, const std::string& cert_file, Limits limits);
  ~TlsEndpoint();
  TlsEndpoint(const TlsEndpoint&) = delete;
  TlsEndpoint& operator=(const TlsEndpoint&) = delete;

  /// Takes a connection from `peer` (a known button) and serves the handshake on the loop.
  /// Returns false, and leaves `fd` with the caller, when a cap is reached.
  bool take(util::Fd& fd, util::Ipv4 peer);

  void set_limits(Limits limits) { limits_ = limits; }
  const Counters& counters() const { return counters_; }
  size_t running() const { return running_; }

 private:
  struct Impl;
  struct Session;

  /// The TLS context, made at the first call; false (said once) when it cannot be made.
  bool ready();

  boost::asio::io_context& io_;
  std::string key_file_, cert_file_;
  std::unique_ptr<Impl> impl_;
  bool broken_ = false;
  Limits limits_;
  Counters counters_;
  size_t running_ = 0;
  HandshakeCap cap_;
};

}  // namespace dashctl::daemon
