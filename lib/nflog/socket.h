// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// NFLOG through libmnl: the only file that speaks to nfnetlink_log. A rule in an nftables
// table (`log group N`) sends matching packets here; the kernel does the filtering, so the
// reader costs nothing for traffic that is not a button's. Needs CAP_NET_ADMIN in the
// network namespace. The header shows standard types only.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include "util/net.h"

namespace dashctl::nflog {

/// One logged packet.
struct Logged {
  std::optional<util::Mac> mac;        ///< the sender's Ethernet address, when it came with one
  uint32_t indev = 0;                  ///< the interface it arrived on (ifindex), 0 when unknown
  std::span<const uint8_t> payload;    ///< from the IP header on; valid during the callback only
};

struct Stats {
  uint64_t received = 0;   ///< packets handed to the callback
  uint64_t malformed = 0;  ///< messages that could not be read (skipped)
  uint64_t lost = 0;       ///< times the socket's buffer overflowed (ENOBUFS): packets were lost
};

class Socket {
 public:
  /// Binds NFLOG group `group` in this network namespace, copying up to `copy_bytes` of
  /// each packet and delivering every packet at once (no batching). Throws util::Error:
  /// Exit::no_perm without CAP_NET_ADMIN, Exit::unavailable when another program has bound
  /// the group, Exit::os for anything else.
  Socket(uint16_t group, uint32_t copy_bytes = 1500);
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  /// The socket, non-blocking: wait until it is readable, then drain().
  int fd() const;
  uint16_t group() const;

  /// Reads what is queued without blocking (at most `max_reads` datagrams, so a flood cannot
  /// hold the caller) and hands every logged packet to `on`. Malformed messages are counted
  /// and skipped. Throws util::Error(Exit::os) only for errors other than a lost packet.
  void drain(const std::function<void(const Logged&)>& on, int max_reads = 64);

  const Stats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dashctl::nflog
