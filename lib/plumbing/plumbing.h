// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The network plumbing as a whole: the nftables table and dnsmasq's files, planned from the
// config, applied together, removed together, and inspected for `status`.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "dnsmasq/control.h"
#include "dnsmasq/files.h"
#include "nft/kernel.h"
#include "nft/ruleset.h"
#include "util/fs.h"

namespace dashctl::plumbing {

/// What the config means on this machine: the values the config may leave to the interface.
struct Effective {
  util::Ipv4 listen_address;
  std::optional<util::Ipv4Prefix> subnet;
};

/// Resolves the listen address and subnet (from the interface where the config leaves them
/// out) and checks the config's addresses against the real subnet. Throws util::Error:
/// Exit::unavailable when the interface is missing or has no address, Exit::data when the
/// lease range or a button's address is outside the interface's network.
Effective resolve(const config::Config& c);

struct Plan {
  nft::Ruleset ruleset;
  dnsmasq::Plan files;
};

/// What setup would do. Reads files; never writes.
Plan plan_setup(const config::Config& c, const Effective& e);

/// What happened, one line each, for the user.
struct Report {
  std::vector<std::string> lines;
  bool changed = false;
};

/// What setup and teardown ask of the machine besides dnsmasq's files: nftables and the
/// running dnsmasq. live_system() is the machine itself; tests give a fake.
class System {
 public:
  virtual ~System() = default;
  /// nft::read_table.
  virtual std::optional<nft::Installed> read_table(const std::string& family, const std::string& table) = 0;
  /// Replaces the table (nft::apply), and returns what puts back exactly the table it replaced,
  /// or removes the table again when there was none (nft::save_table, nft::restore_table).
  virtual std::function<void()> replace_table(const nft::Ruleset& rs) = 0;
  /// nft::remove_table.
  virtual bool remove_table(const std::string& family, const std::string& table) = 0;
  /// dnsmasq::running.
  virtual std::optional<bool> dnsmasq_running(const config::Reload& how) = 0;
  /// dnsmasq::refresh.
  virtual void refresh_dnsmasq(const config::Reload& how, dnsmasq::Refresh what) = 0;
};

/// The machine itself.
System& live_system();

/// Applies the plan: checks it can write dnsmasq's directories first, then replaces the
/// table, writes the files that changed and reloads dnsmasq (a restart only when the
/// drop-in changed). Skips whatever is already current, except a reload that an earlier
/// run left undone (it failed, or the run was killed after writing the files): state_dir's
/// reload-pending file, written before the files and removed after the reload, tells.
///
/// All or nothing: when writing the files or reloading dnsmasq fails after the table was
/// replaced, the table and the files are put back as they were (the table's exact ruleset,
/// or no table; each file's content and mode, or no file) before the util::Error is thrown,
/// with the cause's exit code and its message followed by what was put back (or what could
/// not be). The reload-pending file stays: the failed reload may have reached dnsmasq.
Report apply_setup(const config::Config& c, const Plan& p, System& sys = live_system());

/// Removes the table and dashctl's dnsmasq files, and reloads dnsmasq.
Report teardown(const config::Config& c, System& sys = live_system());

/// The lock a running `dashctl learn` holds: state_dir itself (created when missing).
/// Throws util::Error(Exit::temp_fail) when another learn holds it.
std::unique_ptr<util::DirLock> lock_learn(const config::Config& c, std::chrono::milliseconds wait = {});

/// Removes the table of a `dashctl learn` that was killed before it could (SIGKILL, a
/// crash). The table of a learn that is still running (it holds lock_learn) is left alone.
/// Returns a line for the report when it removed one.
std::optional<std::string> remove_stale_learn_table(const config::Config& c);

/// The state for `status`.
struct Status {
  bool can_read_rules = true;         ///< false without CAP_NET_ADMIN
  bool table_present = false;
  std::vector<std::string> table_differences;  ///< empty and present: current
  struct File {
    std::string path;
    std::string state;  ///< current, missing, stale, foreign
  };
  std::vector<File> files;
  bool files_checked = false;  ///< false: the files could not be compared (see warnings)
  bool files_readable = true;  ///< false: what kept them from being compared was a permission
  std::optional<bool> dnsmasq_running;
  bool reload_pending = false;  ///< dashctl changed dnsmasq's files, and dnsmasq has not re-read them
  std::vector<std::string> warnings;  ///< e.g. another table's drop policy
  bool ok() const;
};
Status status(const config::Config& c);

/// What `status` can find wrong, each its exit code (dashctl-status(8)): the code is the
/// lowest that applies, the most fundamental, since fixing it may fix those after it.
enum class Problem {
  not_installed = 1,  ///< the table, or one of dnsmasq's files, is missing
  out_of_date = 2,    ///< the table or a file differs from what the config wants, or a reload is pending
  dnsmasq_down = 3,   ///< dnsmasq is known not to run
  daemon_down = 4,    ///< no daemon answers on the control socket with its status
};
/// "not_installed", as the JSON output names it.
const char* problem_name(Problem p);

/// The daemon as `status` found it on its control socket.
enum class DaemonState {
  up,       ///< it answered with its status
  down,     ///< nothing listens, it did not answer in time, or its answer was no status
  unknown,  ///< the socket could not be asked (not this user's), so nothing is said of it
};

/// The verdict on a status, from what could be read: a part this user cannot read (the
/// firewall without CAP_NET_ADMIN, a file or socket of another user) is not judged, and
/// never counts as missing.
struct Verdict {
  std::vector<Problem> problems;       ///< most fundamental first; empty: all is well
  std::vector<std::string> unchecked;  ///< the parts not judged: nftables, files, dnsmasq, daemon
  int exit_code() const { return problems.empty() ? 0 : static_cast<int>(problems.front()); }
};
Verdict judge(const Status& s, DaemonState daemon);

}  // namespace dashctl::plumbing
