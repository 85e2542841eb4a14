#pragma once
// dnsmasq's side of `setup` and `teardown`: a drop-in in dnsmasq's conf-dir that points
// at two files dashctl manages (intercepted hostnames, static leases). Rendering is pure;
// planning reads; only apply() writes. Files dashctl did not write are never touched.

#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "util/net.h"

namespace dashctl::dnsmasq {

/// The first line of every file dashctl writes for dnsmasq: how dashctl knows it is its own.
extern const std::string kMarker;

/// Where dashctl's three files live for a [dnsmasq] section.
struct Paths {
  std::string dropin;      ///< <conf_dir>/dashctl.conf
  std::string hosts;       ///< <state_dir>/hosts
  std::string dhcp_hosts;  ///< <state_dir>/dhcp-hosts
};
Paths paths(const config::Dnsmasq& d);

struct File {
  std::string path;
  std::string content;
};

/// What the config wants on disk.
struct Rendered {
  File dropin, hosts, dhcp_hosts;
};

/// Renders the three files. `listen_address` is the address the intercepted hostnames
/// resolve to (from the config or the interface). Throws util::Error when a value could
/// change the meaning of a line: Exit::data for a path the config allows but dnsmasq's
/// syntax does not, Exit::software for a value the config parser should have refused.
Rendered render(const config::Config& c, util::Ipv4 listen_address);

enum class Change { unchanged, create, update, remove };

/// "unchanged", "create", "update" or "remove".
const char* change_name(Change c);

struct FileChange {
  std::string path;
  Change change = Change::unchanged;
  std::string old_content;  ///< empty for create
  std::string new_content;  ///< empty for remove
};

struct Plan {
  /// In the order apply() works: the managed files before the drop-in that names them
  /// on setup, the drop-in first on teardown.
  std::vector<FileChange> files;
  /// The drop-in is created, changed or removed: dnsmasq must restart to see it, while
  /// the other two files only need a reload (SIGHUP).
  bool dropin_changed = false;
  bool any_change() const;
};

/// Compares the rendered files with the disk. Throws util::Error (Exit::cant_create)
/// when a file at one of the paths was not written by dashctl.
Plan plan_setup(const Rendered& wanted);

/// Plans the removal of every dashctl file that exists, refusing foreign ones the same way.
Plan plan_teardown(const config::Config& c);

/// A unified diff of one change ("" when unchanged), for `setup --dry-run`.
std::string diff(const FileChange& change);

/// Carries out a plan: creates state_dir (0755) when missing, checks a new drop-in with
/// `dnsmasq --test` where dnsmasq is installed (nothing is written when it fails), writes
/// changed files atomically (0644) and removes files planned for removal. Throws
/// util::Error: Exit::unavailable when conf_dir does not exist, Exit::data when dnsmasq
/// rejects the drop-in.
void apply(const Plan& plan, const config::Config& c);

/// The dnsmasq binary: in $PATH, else in the sbin directories a non-root PATH lacks.
std::optional<std::string> find_dnsmasq();

/// Runs `<dnsmasq> --test` on `content`, written to a temporary file in `scratch_dir`
/// (removed again in every case). Throws util::Error(Exit::data) with dnsmasq's complaint,
/// naming `shown_path` instead of the temporary file.
void check_dropin(const std::string& dnsmasq, const std::string& content,
                  const std::string& scratch_dir, const std::string& shown_path);

}  // namespace dashctl::dnsmasq
