// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The press source `nflog`: the buttons' own DHCP requests and DNS queries, which setup's
// rules log to an NFLOG group. Needs CAP_NET_ADMIN; without it the daemon says so once and
// goes on with the other sources.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "nflog/socket.h"
#include "press/press.h"

namespace dashctl::daemon {

class NflogSource {
 public:
  using Sink = std::function<void(press::Sighting)>;

  struct Counters {
    uint64_t packets = 0;    ///< logged packets read
    uint64_t malformed = 0;  ///< logged packets that were no IPv4 UDP DHCP request or DNS query
  };

  NflogSource(boost::asio::io_context& io, Sink sink);
  ~NflogSource();
  NflogSource(const NflogSource&) = delete;
  NflogSource& operator=(const NflogSource&) = delete;

  /// Starts reading `group`. Never throws: without the capability, or when the group is
  /// taken, it logs why and stays off.
  void start(uint16_t group);
  /// Stops reading; the source is off.
  void stop();
  /// Reads another group from now on (stop and start), when it differs.
  void rebind(uint16_t group);

  /// The group read, or nullopt when the source is off.
  std::optional<uint16_t> group() const;
  const Counters& counters() const { return counters_; }
  /// Times the kernel dropped logged packets for want of room in the socket's buffer.
  uint64_t lost() const;

  /// What one logged packet makes: a sighting, or a count of a malformed one. Public for tests.
  void on_logged(const nflog::Logged& l);

 private:
  void wait();

  boost::asio::io_context& io_;
  Sink sink_;
  std::unique_ptr<nflog::Socket> socket_;
  std::optional<boost::asio::posix::stream_descriptor> desc_;
  Counters counters_;
};

}  // namespace dashctl::daemon
