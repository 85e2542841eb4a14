// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// nf_tables through libnftnl and libmnl: the only place that speaks netlink to it. No
// shelling out to nft. The header shows standard types only.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nft/ruleset.h"

namespace dashctl::nft {

/// A rule as the kernel holds it: one line per expression, in the format of
/// `nft --debug=netlink` ("[ meta load iifname => reg 1 ]").
using Encoded = std::vector<std::string>;

/// A chain as read back (or as it would be after setup).
struct InstalledChain {
  std::string name, type, hook, policy;
  int priority = 0;
  std::vector<Encoded> rules;
  bool operator==(const InstalledChain&) const = default;
};

struct Installed {
  std::vector<InstalledChain> chains;
  bool operator==(const Installed&) const = default;
};

/// Encodes a rule with libnftnl into a netlink message, parses that message back into a
/// new libnftnl rule and prints it: exactly what the kernel would be sent. Pure; no root.
Encoded encode(const Ruleset& rs, const Chain& chain, const Rule& rule);

/// The table as setup would leave it, in the form read_table returns.
Installed expected(const Ruleset& rs);

/// Replaces the table atomically: one batch that adds it (if missing), deletes it and
/// builds it again with its chains and rules. On failure nothing changes, and the error
/// names the command the kernel refused ("adding rule to chain input: ...").
void apply(const Ruleset& rs);

/// Removes the table, if it is there, in one batch. Returns whether it was there.
bool remove_table(const std::string& family, const std::string& table);

/// A table as the kernel held it, to put back exactly: its flags, chains, sets with their
/// elements, stateful objects, flowtables and rules, every expression and counter as read;
/// or that there was no such table. Copies share what was read.
class SavedTable {
 public:
  ~SavedTable();
  SavedTable(const SavedTable&);
  SavedTable& operator=(const SavedTable&);
  /// Whether there was a table to save.
  bool present() const;

 private:
  struct Capture;
  explicit SavedTable(std::shared_ptr<const Capture> capture);
  std::shared_ptr<const Capture> capture_;
  friend SavedTable save_table(const std::string& family, const std::string& table);
  friend void restore_table(const SavedTable& saved);
};

/// Reads everything in the table. Throws util::Error when the kernel refuses (Exit::no_perm
/// without CAP_NET_ADMIN) and when libnftnl cannot read a part of it: what cannot be read
/// whole cannot be put back whole.
SavedTable save_table(const std::string& family, const std::string& table);

/// Puts a saved table back in one batch, in place of whatever table of that name is there
/// now: the table as it was, or no table when there was none. On failure nothing changes.
void restore_table(const SavedTable& saved);

/// Reads the table back from the kernel; nullopt when there is no such table.
std::optional<Installed> read_table(const std::string& family, const std::string& table);

/// What differs between the wanted and the installed table, one line each; empty when equal.
std::vector<std::string> differences(const Installed& want, const Installed& have);

/// Base chains of other tables on the input or forward hook whose policy is drop: they
/// can drop what dashctl accepts, and dashctl cannot un-drop it.
struct ForeignDrop {
  std::string family, table, chain, hook;
};
std::vector<ForeignDrop> foreign_drops();

}  // namespace dashctl::nft
