// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The table `dashctl learn` watches through: inet dashctl-learn (nft::build_learn), which
// logs every DHCP request and DNS query on the IoT interface to learn's NFLOG group. It is
// there for a Table's lifetime and no longer. The header shows no nftables types.

#include <cstdint>

#include "config/model.h"

namespace dashctl::learn {

class Table {
 public:
  /// The table's name, in family inet.
  static const char* name();

  /// The NFLOG group the table logs to: network.nflog_group + 1.
  static uint16_t group(const config::Config& c);

  /// Removes a table left by a learn that could not remove its own (killed with SIGKILL,
  /// a crash). Returns whether there was one. Throws util::Error as nft::remove_table.
  static bool remove_leftover();

  /// Installs the table in one transaction. Throws util::Error (Exit::no_perm without
  /// CAP_NET_ADMIN).
  explicit Table(const config::Config& c);
  /// Removes the table, unless remove() did.
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  /// Removes the table now; later calls do nothing. Never throws: a failure is logged as an
  /// error with the hint to run 'dashctl setup', which removes the table (it is harmless
  /// meanwhile: it only logs).
  void remove() noexcept;

 private:
  bool removed_ = false;
};

}  // namespace dashctl::learn
