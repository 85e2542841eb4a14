// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// dnsmasq's side of `setup` and `teardown`: a drop-in in dnsmasq's conf-dir that points
// at the files dashctl manages (intercepted hostnames, static leases, and the dhcp-script
// that hands lease events to `dashctl run`). Rendering is pure; planning reads; only
// apply() writes. Files dashctl did not write are never touched.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "util/net.h"

namespace dashctl::dnsmasq {

/// The first line of every file dashctl writes for dnsmasq: how dashctl knows it is its own.
/// The dhcp-script is the exception: its first line is its "#!" line, the marker its second.
extern const std::string kMarker;

/// dnsmasq's main config file, searched for a dhcp-script of its own besides conf_dir.
inline constexpr const char* kMainConfig = "/etc/dnsmasq.conf";

/// Where dashctl's files live for a [dnsmasq] section.
struct Paths {
  std::string dropin;       ///< <conf_dir>/dashctl.conf
  std::string hosts;        ///< <state_dir>/hosts
  std::string dhcp_hosts;   ///< <state_dir>/dhcp-hosts
  std::string dhcp_script;  ///< <state_dir>/dhcp-script (only with dnsmasq.dhcp_script)
};
Paths paths(const config::Dnsmasq& d);

struct File {
  std::string path;
  std::string content;
  mode_t mode = 0644;  ///< 0755 for the dhcp-script, which the kernel runs
};

/// What the config wants on disk.
struct Rendered {
  File dropin, hosts, dhcp_hosts;
  /// Its path always; its content empty when dnsmasq.dhcp_script is false, and then
  /// plan_setup() removes a dhcp-script an earlier setup left.
  File dhcp_script;
};

/// The absolute path of the running dashctl (/proc/self/exe). Throws util::Error(Exit::os)
/// when it cannot be known.
std::string self_executable();

/// The program the dhcp-script runs (cmd/dhcp_script.cpp): installed as
/// <libexecdir>/dashctl/dhcp-script, found from self_executable()'s directory (the build tree
/// has it at the same place relative to dashctl). Throws util::Error(Exit::unavailable) when it
/// is not there or not executable.
std::string dhcp_script_helper();

/// Renders the files. `listen_address` is the address the intercepted hostnames resolve
/// to (from the config or the interface); `helper` is the program the dhcp-script's "#!" line
/// names (default: dhcp_script_helper(), looked up only when dnsmasq.dhcp_script is true).
/// Throws util::Error when a value could change the meaning of a line: Exit::data for a path
/// the config allows but dnsmasq's syntax or the kernel's "#!" line does not (a blank, a line
/// over 255 bytes), Exit::software for a value the config parser should have refused.
Rendered render(const config::Config& c, util::Ipv4 listen_address,
                const std::optional<std::string>& helper = std::nullopt);

enum class Change { unchanged, create, update, remove };

/// "unchanged", "create", "update" or "remove".
const char* change_name(Change c);

struct FileChange {
  std::string path;
  Change change = Change::unchanged;
  std::string old_content;  ///< empty for create
  std::string new_content;  ///< empty for remove
  mode_t mode = 0644;       ///< what apply() writes it with
  mode_t old_mode = 0;      ///< the file's mode as it was read (update, remove, unchanged)
};

struct Plan {
  /// In the order apply() works: the managed files before the drop-in that names them
  /// on setup (a dhcp-script no longer wanted after it), the drop-in first on teardown.
  std::vector<FileChange> files;
  /// The drop-in is created, changed or removed: dnsmasq must restart to see it, while
  /// the other files only need a reload (SIGHUP).
  bool dropin_changed = false;
  bool any_change() const;
};

/// Compares the rendered files with the disk. Throws util::Error: Exit::cant_create when
/// a file at one of the paths was not written by dashctl; Exit::data when dashctl is to
/// install the dhcp-script and a file dnsmasq reads (`main_config`, or another file in the
/// drop-in's directory that dnsmasq's conf-dir would load) sets dhcp-script already, which
/// dnsmasq allows only once.
Plan plan_setup(const Rendered& wanted, const std::string& main_config = kMainConfig);

/// Plans the removal of every dashctl file that exists, refusing foreign ones the same way.
Plan plan_teardown(const config::Config& c);

/// The plan that puts back what `plan` changes, as the plan found it: a file it creates is
/// removed again, one it updates or removes is written again with its old content and mode.
/// In the reverse order, so that a drop-in put back never names a file not yet put back.
Plan undo(const Plan& plan);

/// A unified diff of one change ("" when unchanged), for `setup --dry-run`.
std::string diff(const FileChange& change);

/// Whether the caller has had dnsmasq check the plan's new drop-in already (check_dropin).
enum class DropinChecked { no, yes };

/// Carries out a plan: creates state_dir (0755) when missing, checks a new drop-in with
/// `dnsmasq --test` where dnsmasq is installed and the caller has not (nothing is written
/// when it fails), writes changed files atomically (0644, the dhcp-script 0755) and removes
/// files planned for removal. Throws util::Error: Exit::unavailable when conf_dir does not
/// exist, Exit::data when dnsmasq rejects the drop-in.
void apply(const Plan& plan, const config::Config& c, DropinChecked checked = DropinChecked::no);

/// The dnsmasq binary: in $PATH, else in the sbin directories a non-root PATH lacks.
std::optional<std::string> find_dnsmasq();

/// Runs `<dnsmasq> --test` on `content`, written to a temporary file in `scratch_dir`
/// (removed again in every case). Throws util::Error(Exit::data) with dnsmasq's complaint,
/// naming `shown_path` instead of the temporary file.
void check_dropin(const std::string& dnsmasq, const std::string& content,
                  const std::string& scratch_dir, const std::string& shown_path);

}  // namespace dashctl::dnsmasq
