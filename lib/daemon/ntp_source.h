// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The NTP responder, and the press source `ntp`: setup redirects the IoT network's UDP 123
// to network.ntp_port, where the daemon answers client requests from the system clock. A
// button asks for the time before it dials, about half a second before its connection, so
// each request is also a sighting; it needs no capability.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "ntp/packet.h"
#include "press/press.h"
#include "util/net.h"

namespace dashctl::daemon {

class NtpSource {
 public:
  using Sink = std::function<void(press::Sighting)>;
  /// The clock's state when a request is answered (the kernel's, by default).
  using ClockState = std::function<ntp::ClockState()>;

  struct Counters {
    uint64_t answered = 0;  ///< requests answered
    uint64_t ignored = 0;   ///< datagrams that were no client request: no answer
  };

  /// Binds UDP ip:port and starts answering. Throws util::Error (Exit::no_perm or
  /// Exit::unavailable) when it cannot bind.
  NtpSource(boost::asio::io_context& io, util::Ipv4 ip, uint16_t port, Sink sink, ClockState clock = kernel_clock);

  /// Moves to another address or port, binding the new one first (util::Error: the old
  /// one keeps serving).
  void rebind(util::Ipv4 ip, uint16_t port);
  void stop();

  uint16_t port() const { return port_; }
  const Counters& counters() const { return counters_; }

  /// The kernel's view of the clock (ntp_adjtime(2)): synchronised unless it says
  /// TIME_ERROR or STA_UNSYNC.
  static ntp::ClockState kernel_clock();

 private:
  boost::asio::ip::udp::socket bind(util::Ipv4 ip, uint16_t port);
  void receive();
  void on_datagram(size_t n);

  boost::asio::io_context& io_;
  Sink sink_;
  ClockState clock_;
  std::optional<boost::asio::ip::udp::socket> socket_;
  boost::asio::ip::udp::endpoint peer_;
  std::array<uint8_t, ntp::kMaxRequest + 1> buf_{};  ///< one more: a longer datagram is refused
  util::Ipv4 ip_;
  uint16_t port_ = 0;
  Counters counters_;
};

}  // namespace dashctl::daemon
