// SPDX-License-Identifier: GPL-2.0-or-later
#include "plumbing/plumbing.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "config/load.h"
#include "dnsmasq/control.h"
#include "nft/kernel.h"
#include "util/interface.h"
#include "util/error.h"
#include "util/fs.h"

namespace dashctl::plumbing {
namespace {

using util::Error;
using util::Exit;

const char* kRootHint = "setup and teardown change the firewall and dnsmasq: run them as root (sudo)";

/// Fails early, before anything changed, when dnsmasq's directories cannot be written:
/// so a setup without privileges leaves the firewall as it was too.
void check_writable(const config::Config& c) {
  const auto& d = c.dnsmasq;
  if (::access(d.conf_dir.c_str(), F_OK) != 0)
    throw Error(Exit::unavailable, "dnsmasq's conf-dir " + d.conf_dir + " does not exist",
                "is dnsmasq installed? Or set dnsmasq.conf_dir");
  for (const auto& dir : {d.conf_dir, ::access(d.state_dir.c_str(), F_OK) == 0 ? d.state_dir
                                                                             : util::dirname_of(d.state_dir)}) {
    if (::access(dir.c_str(), W_OK) != 0) {
      const int err = errno;
      throw Error(err == EACCES || err == EROFS ? Exit::no_perm : Exit::cant_create,
                  "cannot write " + dir + ": " + util::errno_text(err), err == EACCES ? kRootHint : "");
    }
  }
}

std::string count(size_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

size_t rule_count(const nft::Ruleset& rs) {
  size_t n = 0;
  for (const auto& c : rs.chains) n += c.rules.size();
  return n;
}

/// A file in state_dir that says dnsmasq may not have taken up the files dashctl wrote:
/// written before them, removed once dnsmasq reloaded (or is found not running). When a
/// reload fails, or a setup, learn or teardown is killed between the files and the reload,
/// the files on disk are already current, and only this tells the next setup (or teardown)
/// to reload all the same. It holds "restart" when the drop-in changed, else "reload".
std::string pending_file(const config::Config& c) {
  const std::string& dir = c.dnsmasq.state_dir;
  return dir + (dir.ends_with('/') ? "" : "/") + "reload-pending";
}

/// nullopt: nothing pending; true: a restart is, false: a reload is.
std::optional<bool> pending_refresh(const config::Config& c) {
  const auto text = util::read_file(pending_file(c));
  if (!text) return std::nullopt;
  return text->starts_with("restart");
}

void mark_pending(const config::Config& c, bool restart) {
  // The first file in state_dir (check_writable saw that it or its parent can be written):
  // 0755 whatever the umask, as dnsmasq::apply makes it, since dnsmasq reads it as its user.
  const std::string& dir = c.dnsmasq.state_dir;
  if (::mkdir(dir.c_str(), 0755) == 0) {
    if (::chmod(dir.c_str(), 0755) != 0) util::throw_system("setting the mode of " + dir, errno, Exit::cant_create);
  } else if (errno != EEXIST) {
    util::throw_system("creating " + dir, errno, Exit::cant_create);
  }
  util::write_file_atomic(pending_file(c), restart ? "restart\n" : "reload\n", 0644);
}

const char* kPendingLine = "dnsmasq: its files were written before, but an earlier reload failed or was interrupted";

class LiveSystem final : public System {
 public:
  std::optional<nft::Installed> read_table(const std::string& family, const std::string& table) override {
    return nft::read_table(family, table);
  }
  std::function<void()> replace_table(const nft::Ruleset& rs) override {
    auto saved = nft::save_table(rs.family, rs.table);
    nft::apply(rs);
    return [saved = std::move(saved)] { nft::restore_table(saved); };
  }
  bool remove_table(const std::string& family, const std::string& table) override {
    return nft::remove_table(family, table);
  }
  std::optional<bool> dnsmasq_running(const config::Reload& how) override { return dnsmasq::running(how); }
  void refresh_dnsmasq(const config::Reload& how, dnsmasq::Refresh what) override { dnsmasq::refresh(how, what); }
};

/// Reloads dnsmasq after its files changed; a drop-in change needs a restart.
void reload_dnsmasq(System& sys, const config::Config& c, bool restart, bool removed, Report& report) {
  if (sys.dnsmasq_running(c.dnsmasq.reload) == false) {
    spdlog::warn(removed ? "dnsmasq is not running, so there is nothing to reload"
                         : "dnsmasq is not running: its files are in place and take effect when it starts");
    report.lines.push_back("dnsmasq: not running, not reloaded");
    return;
  }
  sys.refresh_dnsmasq(c.dnsmasq.reload, restart ? dnsmasq::Refresh::restart : dnsmasq::Refresh::reload);
  report.lines.push_back(restart ? "dnsmasq: restarted (its drop-in changed)"
                                 : "dnsmasq: reloaded (SIGHUP: it re-reads the hosts files)");
}

/// What a failed setup had changed, to be put back.
struct Changed {
  std::function<void()> put_back_table;  ///< empty: the table was current and left alone
  const dnsmasq::Plan* files = nullptr;  ///< set once dnsmasq::apply began writing them
  bool restarting = false;               ///< the failure was in a restart of dnsmasq
};

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) s += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
  return s;
}

/// Puts back what setup changed before it failed: the table first (the firewall is what
/// keeps the buttons isolated), then dnsmasq's files. Returns what to add to the error
/// message, "" when nothing had changed.
std::string put_back(System& sys, const config::Config& c, const std::string& table, const Changed& changed) {
  std::vector<std::string> done, failed;
  if (changed.put_back_table) {
    try {
      changed.put_back_table();
      done.push_back(table);
    } catch (const std::exception& e) {
      failed.push_back(table + " (" + e.what() + ")");
    }
  }
  if (changed.files) {
    try {
      dnsmasq::apply(dnsmasq::undo(*changed.files), c, dnsmasq::DropinChecked::yes);
      done.push_back("dnsmasq's files");
    } catch (const std::exception& e) {
      failed.push_back("dnsmasq's files (" + std::string(e.what()) + ")");
    }
  }
  std::string out;
  if (failed.empty() && !done.empty()) out = "; setup put everything back as it was: " + joined(done);
  if (!failed.empty()) {
    out = "; setup could not put back " + joined(failed);
    if (!done.empty()) out += "; it put back " + joined(done);
  }
  if (changed.restarting && sys.dnsmasq_running(c.dnsmasq.reload) == false) out += "; dnsmasq is not running now";
  if (!out.empty()) spdlog::debug("setup failed{}", out);
  return out;
}

std::string file_list(const dnsmasq::Plan& p) {
  std::string s;
  for (const auto& f : p.files) {
    if (f.change == dnsmasq::Change::unchanged) continue;
    const char* verb = f.change == dnsmasq::Change::create   ? "wrote "
                       : f.change == dnsmasq::Change::update ? "updated "
                                                             : "removed ";
    s += (s.empty() ? "" : ", ") + std::string(verb) + f.path;
  }
  return s;
}

}  // namespace

Effective resolve(const config::Config& c) {
  const auto& net = c.network;
  if (!util::interface_exists(net.iot_interface))
    throw Error(Exit::unavailable, "interface " + net.iot_interface + " does not exist",
                "check network.iot_interface in " + c.path);
  const auto addrs = util::interface_ipv4(net.iot_interface);
  Effective e{};
  if (net.listen_address) {
    e.listen_address = *net.listen_address;
    bool found = false;
    for (const auto& a : addrs) found = found || a.address == *net.listen_address;
    if (!found)
      throw Error(Exit::data, "network.listen_address " + net.listen_address->str() + " is not an address of " +
                                  net.iot_interface + (addrs.empty() ? "" : " (it has " + addrs[0].address.str() + ")"));
  } else if (!addrs.empty()) {
    e.listen_address = addrs[0].address;
  } else {
    throw Error(Exit::unavailable, "interface " + net.iot_interface + " has no IPv4 address",
                "give it one, or set network.listen_address");
  }
  e.subnet = net.subnet;
  if (!e.subnet) {
    for (const auto& a : addrs)
      if (a.address == e.listen_address) e.subnet = a.subnet;
  }
  // The config alone cannot check these without a subnet; the interface's one is the truth.
  if (e.subnet && !net.subnet) {
    if (net.lease_range && !(e.subnet->contains(net.lease_range->first) && e.subnet->contains(net.lease_range->last)))
      throw Error(Exit::data, "network.lease_range " + net.lease_range->str() + " is not inside " +
                                  net.iot_interface + "'s network " + e.subnet->str());
    for (const auto& b : c.buttons)
      if (b.ip && !e.subnet->contains(*b.ip))
        throw Error(Exit::data, b.ip_where.str() + ": address " + b.ip->str() + " of button '" + b.name +
                                    "' is not inside " + net.iot_interface + "'s network " + e.subnet->str());
  }
  return e;
}

Plan plan_setup(const config::Config& c, const Effective& e) {
  return {nft::build(c), dnsmasq::plan_setup(dnsmasq::render(c, e.listen_address))};
}

std::unique_ptr<util::DirLock> lock_learn(const config::Config& c, std::chrono::milliseconds wait) {
  const std::string& dir = c.dnsmasq.state_dir;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    util::throw_system("creating " + dir, errno, util::Exit::cant_create);
  try {
    return std::make_unique<util::DirLock>(dir, wait);
  } catch (const util::Error& e) {
    if (e.code() != util::Exit::temp_fail) throw;
    throw util::Error(util::Exit::temp_fail, "another 'dashctl learn' is running (it holds " + dir + ")",
                      "wait for it to finish, or stop it");
  }
}

System& live_system() {
  static LiveSystem sys;
  return sys;
}

static std::optional<std::string> remove_stale_learn_table(const config::Config& c, System& sys) {
  if (!sys.read_table("inet", nft::kLearnTable)) return std::nullopt;
  std::unique_ptr<util::DirLock> lock;
  try {
    lock = lock_learn(c);
  } catch (const util::Error& e) {
    if (e.code() == util::Exit::temp_fail) return std::nullopt;  // a learn is running: its table
    throw;
  }
  sys.remove_table("inet", nft::kLearnTable);
  return std::string("nftables: removed table inet ") + nft::kLearnTable + ", left by an interrupted 'dashctl learn'";
}

std::optional<std::string> remove_stale_learn_table(const config::Config& c) {
  return remove_stale_learn_table(c, live_system());
}

/// The temporary files that writes of dashctl's files left behind when they were killed
/// (see util::remove_stale_temporaries): of the config file, of buttons.d's files, of the
/// dnsmasq files and the reload-pending mark. Returns a report line, or nullopt.
static std::optional<std::string> remove_leftover_temporaries(const config::Config& c) {
  std::map<std::string, std::set<std::string>> names;  // directory: file names
  const auto p = dnsmasq::paths(c.dnsmasq);
  for (const auto& path : {p.dropin, p.hosts, p.dhcp_hosts, p.dhcp_script, pending_file(c), c.path})
    if (!path.empty()) names[util::dirname_of(path)].insert(std::filesystem::path(path).filename().string());
  std::vector<std::string> removed;
  for (const auto& entry : names) {
    // Not a structured binding: clang before 16 (Debian 12's is 14) cannot capture one.
    const auto& files = entry.second;
    auto more = util::remove_stale_temporaries(entry.first, [&](std::string_view n) { return files.contains(std::string(n)); });
    removed.insert(removed.end(), more.begin(), more.end());
  }
  if (!c.path.empty()) {
    auto more = util::remove_stale_temporaries(config::buttons_dir_for(c.path),
                                               [](std::string_view n) { return n.ends_with(".toml"); });
    removed.insert(removed.end(), more.begin(), more.end());
  }
  if (removed.empty()) return std::nullopt;
  for (const auto& r : removed) spdlog::debug("removed {}", r);
  return "removed " + count(removed.size(), "temporary file") + " left by interrupted writes (" + removed.front() +
         (removed.size() > 1 ? ", ..." : "") + ")";
}

Report apply_setup(const config::Config& c, const Plan& p, System& sys) {
  Report report;
  const auto pending = pending_refresh(c);
  if (auto stale = remove_stale_learn_table(c, sys)) {
    report.lines.push_back(*stale);
    report.changed = true;
  }
  if (auto temps = remove_leftover_temporaries(c)) {
    report.lines.push_back(*temps);
    report.changed = true;
  }
  if (p.files.any_change()) check_writable(c);
  // dnsmasq judges a new drop-in before anything changes, so a rejected one leaves the
  // firewall as it was too; dnsmasq::apply() below then writes it without asking again.
  auto checked = dnsmasq::DropinChecked::no;
  if (p.files.dropin_changed) {
    if (const auto bin = dnsmasq::find_dnsmasq()) {
      for (const auto& f : p.files.files)
        if (f.path == dnsmasq::paths(c.dnsmasq).dropin && f.change != dnsmasq::Change::remove) {
          dnsmasq::check_dropin(*bin, f.new_content, std::filesystem::temp_directory_path().string(), f.path);
          checked = dnsmasq::DropinChecked::yes;
        }
    }
  }

  const auto want = nft::expected(p.ruleset);
  const auto have = sys.read_table(p.ruleset.family, p.ruleset.table);
  const std::string table = "table " + p.ruleset.family + " " + p.ruleset.table;
  Changed changed;
  if (have && nft::differences(want, *have).empty()) {
    report.lines.push_back("nftables: " + table + " is up to date");
  } else {
    changed.put_back_table = sys.replace_table(p.ruleset);
    report.changed = true;
    report.lines.push_back("nftables: " + std::string(have ? "replaced " : "installed ") + table + " (" +
                           count(p.ruleset.chains.size(), "chain") + ", " + count(rule_count(p.ruleset), "rule") + ")");
  }

  if (!p.files.any_change() && !pending) {
    report.lines.push_back("dnsmasq: files are up to date");
    return report;
  }
  // From here on setup is all or nothing: a failure puts back what changed.
  try {
    bool restart = pending.value_or(false);
    if (p.files.any_change()) {
      restart = restart || p.files.dropin_changed;
      mark_pending(c, restart);
      changed.files = &p.files;
      dnsmasq::apply(p.files, c, checked);
      report.lines.push_back("dnsmasq: " + file_list(p.files));
    } else {
      report.lines.push_back(kPendingLine);
    }
    changed.restarting = restart;
    reload_dnsmasq(sys, c, restart, false, report);
  } catch (const Error& e) {
    throw Error(e.code(), e.what() + put_back(sys, c, table, changed), e.hint());
  } catch (...) {
    put_back(sys, c, table, changed);
    throw;
  }
  report.changed = true;
  util::remove_file(pending_file(c));
  return report;
}

Report teardown(const config::Config& c, System& sys) {
  Report report;
  if (auto stale = remove_stale_learn_table(c, sys)) {
    report.lines.push_back(*stale);
    report.changed = true;
  }
  const auto files = dnsmasq::plan_teardown(c);
  const auto pending = pending_refresh(c);
  if (files.any_change()) check_writable(c);
  if (sys.remove_table("inet", "dashctl")) {
    report.changed = true;
    report.lines.push_back("nftables: removed table inet dashctl");
  } else {
    report.lines.push_back("nftables: no table inet dashctl");
  }
  if (!files.any_change()) {
    if (!pending) {
      report.lines.push_back("dnsmasq: no dashctl files");
      return report;
    }
    report.changed = true;
    report.lines.push_back(kPendingLine);
    reload_dnsmasq(sys, c, *pending, true, report);
    util::remove_file(pending_file(c));
    return report;
  }
  const bool restart = files.dropin_changed || pending.value_or(false);
  mark_pending(c, restart);
  dnsmasq::apply(files, c);
  report.changed = true;
  report.lines.push_back("dnsmasq: " + file_list(files));
  reload_dnsmasq(sys, c, restart, true, report);
  util::remove_file(pending_file(c));
  return report;
}

bool Status::ok() const {
  if (!can_read_rules || !files_checked || !table_present || !table_differences.empty() || dnsmasq_running == false ||
      reload_pending)
    return false;
  for (const auto& f : files)
    if (f.state != "current") return false;
  return true;
}

Status status(const config::Config& c) {
  Status s;
  try {
    const auto have = nft::read_table("inet", "dashctl");
    s.table_present = have.has_value();
    if (have) s.table_differences = nft::differences(nft::expected(nft::build(c)), *have);
  } catch (const Error& e) {
    if (e.code() != Exit::no_perm) throw;
    s.can_read_rules = false;
  }
  try {
    const auto e = resolve(c);
    for (const auto& f : dnsmasq::plan_setup(dnsmasq::render(c, e.listen_address)).files) {
      s.files.push_back({f.path, f.change == dnsmasq::Change::unchanged ? "current"
                                 : f.change == dnsmasq::Change::create ? "missing"
                                                                        : "stale"});
    }
    s.files_checked = true;
  } catch (const Error& e) {
    s.files_readable = e.code() != Exit::no_perm;
    s.warnings.push_back(e.what());
  }
  s.dnsmasq_running = dnsmasq::running(c.dnsmasq.reload);
  try {
    s.reload_pending = pending_refresh(c).has_value();
  } catch (const Error&) {
    // Unreadable: as the files themselves, nothing to say.
  }
  if (s.reload_pending)
    s.warnings.push_back("dnsmasq has not re-read its files since dashctl changed them (a reload failed or was "
                         "interrupted): the old leases and names are in force; run 'dashctl setup'");
  if (s.can_read_rules) {
    for (const auto& d : nft::foreign_drops()) {
      s.warnings.push_back("table " + d.family + " " + d.table + " chain " + d.chain + " drops by default on hook " +
                           d.hook + ": it may drop what dashctl accepts (DHCP, DNS, the listener), and dashctl "
                           "cannot undo another table's drop");
    }
  }
  return s;
}

const char* problem_name(Problem p) {
  switch (p) {
    case Problem::not_installed: return "not_installed";
    case Problem::out_of_date: return "out_of_date";
    case Problem::dnsmasq_down: return "dnsmasq_down";
    case Problem::daemon_down: return "daemon_down";
  }
  return "?";
}

Verdict judge(const Status& s, DaemonState daemon) {
  Verdict v;
  auto has = [&](const char* state) {
    return std::any_of(s.files.begin(), s.files.end(), [&](const Status::File& f) { return f.state == state; });
  };
  if (!s.can_read_rules) v.unchecked.push_back("nftables");
  if (!s.files_checked && !s.files_readable) v.unchecked.push_back("files");
  if (!s.dnsmasq_running) v.unchecked.push_back("dnsmasq");
  if (daemon == DaemonState::unknown) v.unchecked.push_back("daemon");
  if ((s.can_read_rules && !s.table_present) || has("missing")) v.problems.push_back(Problem::not_installed);
  // Files that could not be compared for another reason than a permission (the interface
  // is gone, a file there is not dashctl's): setup would not leave them as they are either.
  if ((s.table_present && !s.table_differences.empty()) || has("stale") || s.reload_pending ||
      (!s.files_checked && s.files_readable))
    v.problems.push_back(Problem::out_of_date);
  if (s.dnsmasq_running == false) v.problems.push_back(Problem::dnsmasq_down);
  if (daemon == DaemonState::down) v.problems.push_back(Problem::daemon_down);
  return v;
}

}  // namespace dashctl::plumbing
