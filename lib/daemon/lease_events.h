// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The press source `dhcp`: dnsmasq's lease events, which `dashctl dhcp-event` (its
// dhcp-script) sends as datagrams to a unix socket of the daemon's (event.h has their form).

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/datagram_protocol.hpp>

#include "daemon/event.h"
#include "daemon/socket_file.h"
#include "press/press.h"

namespace dashctl::daemon {

class LeaseEventSocket {
 public:
  using Sink = std::function<void(press::Sighting)>;
  /// Whether an event's address is in the IoT networks, where buttons are.
  using Inside = std::function<bool(util::Ipv4)>;

  struct Counters {
    uint64_t events = 0;         ///< lease events that were wake-ups
    uint64_t bad_datagrams = 0;  ///< datagrams that were no lease event
    uint64_t outside = 0;        ///< lease events for an address outside the IoT networks: refused
  };

  /// Binds the socket at `path`, owner and group only (whoever can write to it can announce
  /// presses), replacing a socket file left there, and starts receiving. Throws util::Error
  /// (Exit::cant_create) when `path` is something else or cannot be bound.
  LeaseEventSocket(boost::asio::io_context& io, std::string path, Sink sink, Inside inside = nullptr);
  /// Removes the socket file.
  ~LeaseEventSocket();
  LeaseEventSocket(const LeaseEventSocket&) = delete;
  LeaseEventSocket& operator=(const LeaseEventSocket&) = delete;

  /// Stops receiving; the file stays until the object goes.
  void stop();

  const std::string& path() const { return path_; }
  const Counters& counters() const { return counters_; }

  /// What one datagram makes: a sighting, or a count of a bad one. Public for tests.
  void on_datagram(std::string_view bytes);

 private:
  void receive();

  std::string path_;
  BoundSocketFile file_;
  Sink sink_;
  Inside inside_;
  std::optional<boost::asio::local::datagram_protocol::socket> socket_;
  std::array<char, kMaxDatagram + 1> buf_{};  ///< one more: a longer datagram is refused, not cut
  Counters counters_;
};

}  // namespace dashctl::daemon
