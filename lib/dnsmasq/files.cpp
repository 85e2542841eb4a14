// SPDX-License-Identifier: GPL-2.0-or-later
#include "dnsmasq/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "dnsmasq/run.h"
#include "util/diff.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/text.h"

namespace dashctl::dnsmasq {

const std::string kMarker =
    "# Managed by dashctl: do not edit. dashctl setup rewrites it, dashctl teardown removes it.";

namespace {

using namespace std::chrono_literals;
using util::Error;
using util::Exit;

constexpr auto kTestTimeout = 10s;

/// The character of `value` that dnsmasq's file syntax gives a meaning to, or 0. dnsmasq
/// splits options at commas, starts comments at '#', reads quotes and backslash escapes
/// in its config files, and a hosts file splits at white space; a newline starts a line.
char unsafe_char(std::string_view value) {
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == ' ' || c == ',' || c == '#' || c == '"' || c == '\\')
      return c;
  }
  return 0;
}

std::string shown(char c) {
  if (c == '\n') return "a newline";
  if (c == ' ') return "a space";
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "a control character";
  return std::string("'") + c + "'";
}

/// Refuses a value that the config parser should already have refused: a bug if it gets here.
void require_validated(std::string_view value, const std::string& what) {
  const char c = unsafe_char(value);
  if (value.empty() || c != 0)
    throw Error(Exit::software, "internal error: " + what + " '" + std::string(value) +
                                    "' is not fit for dnsmasq's files" +
                                    (c ? " (it contains " + shown(c) + ")" : ""));
}

/// Refuses a path that dnsmasq's config syntax would misread in the drop-in. The config
/// only asks for an absolute path, so this is the user's to fix.
void require_plain_path(const std::string& path, const std::string& key) {
  if (const char c = unsafe_char(path))
    throw Error(Exit::data,
                "dnsmasq." + key + " '" + path +
                    "' cannot be written into dnsmasq's config: it contains " + shown(c),
                "choose a path without spaces, commas, '#', quotes or backslashes");
}

bool same_directory(const std::string& a, const std::string& b) {
  const auto normal = [](const std::string& d) {
    auto n = std::filesystem::path(d).lexically_normal().string();
    while (n.size() > 1 && n.ends_with('/')) n.pop_back();
    return n;
  };
  return normal(a) == normal(b);
}

std::string join(const std::string& dir, const std::string& name) {
  return dir.ends_with('/') ? dir + name : dir + "/" + name;
}

// One function per file, so that what goes into each stays in one place.

std::string render_dropin(const config::Config& c, const Paths& p) {
  std::string out = kMarker + "\n";
  out += "addn-hosts=" + p.hosts + "\n";
  out += "dhcp-hostsfile=" + p.dhcp_hosts + "\n";
  if (c.dnsmasq.dhcp_script) out += "dhcp-script=" + p.dhcp_script + "\n";
  return out;
}

/// The longest first line of a script that the kernel reads whole (BINPRM_BUF_SIZE, Linux
/// 5.1 on), its newline included.
constexpr size_t kMaxShebangLine = 256;

/// Refuses what the kernel would misread in a script's "#!" line, which it splits at the first
/// blank into the program and one argument (the rest of the line), without any quoting: a
/// blank or a control character. `what` names the value for the user.
void require_shebang_word(const std::string& value, const std::string& what) {
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f)
      throw Error(Exit::data, what + " '" + value + "' cannot be written into dnsmasq's dhcp-script: it contains " +
                                  shown(c),
                  "choose a path without spaces or control characters");
  }
}

/// dnsmasq runs it, as root unless dhcp-scriptuser says otherwise, for every lease event,
/// and waits for it. Its first line has the kernel run the helper (cmd/dhcp_script.cpp) with
/// the socket, the script's path and dnsmasq's arguments: no shell, no config to read, and
/// dhcp-event's code, which returns at once whether or not the daemon runs.
std::string render_dhcp_script(const config::Config& c, const std::string& helper) {
  if (c.daemon.event_socket.empty())
    throw Error(Exit::software, "internal error: daemon.event_socket is empty");
  if (!helper.starts_with('/'))
    throw Error(Exit::software, "internal error: the dhcp-script helper '" + helper + "' is not an absolute path");
  require_shebang_word(helper, "the dhcp-script helper");
  require_shebang_word(c.daemon.event_socket, "daemon.event_socket");
  const std::string first = "#!" + helper + " " + c.daemon.event_socket + "\n";
  if (first.size() > kMaxShebangLine)
    throw Error(Exit::data, "dnsmasq's dhcp-script would begin '" + first.substr(0, first.size() - 1) + "', " +
                                std::to_string(first.size()) + " bytes, longer than the " +
                                std::to_string(kMaxShebangLine) + " the kernel reads",
                "choose a shorter daemon.event_socket");
  return first + kMarker + "\n" +
         "# dnsmasq runs this file for every lease event: the kernel runs the program above with the\n"
         "# socket, this file and dnsmasq's arguments, and it hands a button's wake-up to 'dashctl run'.\n";
}

std::string render_hosts(const config::Config& c, util::Ipv4 listen_address) {
  const std::string address = listen_address.str();
  require_validated(address, "listen address");
  // A hosts line matches the exact name only (address=/name/ would match subdomains
  // too, and would need a restart on every change): intended.
  std::string out = kMarker + "\n";
  for (const auto& host : c.intercept.hostnames) {
    require_validated(host, "intercepted hostname");
    if (const auto problem = util::hostname_problem(host))
      throw Error(Exit::software, "internal error: intercepted hostname: " + *problem);
    out += address + " " + host + "\n";
  }
  return out;
}

std::string render_dhcp_hosts(const config::Config& c) {
  std::vector<const config::Button*> leased;
  for (const auto& b : c.buttons) {
    // A static lease needs both: dnsmasq hands the address to that MAC only.
    if (b.mac && b.ip) leased.push_back(&b);
  }
  std::sort(leased.begin(), leased.end(),
            [](const config::Button* a, const config::Button* b) { return a->name < b->name; });
  std::string out = kMarker + "\n";
  for (const auto* b : leased) {
    require_validated(b->name, "button name");
    if (!util::is_button_name(b->name))
      throw Error(Exit::software, "internal error: button name '" + b->name + "' is not valid");
    const std::string mac = b->mac->str(), ip = b->ip->str();
    require_validated(mac, "MAC address");
    require_validated(ip, "address");
    // dhcp-host syntax: hardware address, address, host name.
    out += mac + "," + ip + "," + b->name + "\n";
  }
  return out;
}

/// Whether `line` is the first line of a dhcp-script dashctl wrote: "#!", its helper and one
/// argument (render_dhcp_script), or "#!/bin/sh", which versions before the helper wrote.
bool is_our_shebang(std::string_view line) {
  if (line == "#!/bin/sh") return true;
  const auto blank = line.find(' ');
  return line.starts_with("#!/") && blank != std::string_view::npos && blank + 1 < line.size() &&
         line.find_first_of(" \t", blank + 1) == std::string_view::npos;
}

/// Whether `content` is a file dashctl wrote: the marker on its first line, or on its second
/// after the "#!" line for a script (a file of `mode` with an execute bit).
bool is_ours(const std::string& content, mode_t mode) {
  if ((mode & 0111) == 0) return content.starts_with(kMarker + "\n");
  const auto newline = content.find('\n');
  return newline != std::string::npos && is_our_shebang(std::string_view(content).substr(0, newline)) &&
         content.compare(newline + 1, kMarker.size() + 1, kMarker + "\n") == 0;
}

/// Throws unless `content` (of the file at `path`) is one dashctl wrote.
void require_ours(const std::string& path, const std::string& content, mode_t mode) {
  if (!is_ours(content, mode))
    throw Error(Exit::cant_create,
                path +
                    " exists and was not written by dashctl; move it away or set "
                    "dnsmasq.conf_dir/state_dir elsewhere");
}

/// The permission bits of an existing file, for putting it back as it was; `otherwise` when
/// they cannot be read (the file was read a moment ago).
mode_t mode_of(const std::string& path, mode_t otherwise) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : otherwise;
}

FileChange compare(const File& wanted) {
  FileChange fc;
  fc.path = wanted.path;
  fc.new_content = wanted.content;
  fc.mode = wanted.mode;
  const auto old = util::read_file(wanted.path);
  if (!old) {
    fc.change = Change::create;
    return fc;
  }
  require_ours(wanted.path, *old, wanted.mode);
  fc.old_content = *old;
  fc.old_mode = mode_of(wanted.path, wanted.mode);
  fc.change = *old == wanted.content ? Change::unchanged : Change::update;
  return fc;
}

// ---- another dhcp-script -------------------------------------------------------------------

/// The number (from 1) of the first line of a dnsmasq config that sets dhcp-script, or 0.
/// dnsmasq skips white space before an option, reads lines starting with '#' as comments,
/// and takes the name up to '=' without the white space before it.
size_t dhcp_script_line(std::string_view content) {
  constexpr std::string_view kSpace = " \t\r\f\v";
  size_t number = 0;
  for (size_t start = 0; start < content.size(); ++number) {
    const size_t nl = content.find('\n', start);
    std::string_view line = content.substr(start, nl == std::string_view::npos ? content.npos : nl - start);
    start = nl == std::string_view::npos ? content.size() : nl + 1;
    line.remove_prefix(std::min(line.size(), line.find_first_not_of(kSpace)));
    const size_t eq = line.find('=');
    if (line.starts_with('#') || eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq);
    key.remove_suffix(key.size() - std::min(key.size(), key.find_last_not_of(kSpace) + 1));
    if (key == "dhcp-script") return number + 1;
  }
  return 0;
}

/// Whether dnsmasq's conf-dir loads a file of this name: it skips hidden files, backups
/// ('~') and '#...#', and Debian's init script passes the package manager's leftovers as
/// excluded extensions.
bool conf_dir_loads(const std::string& name) {
  if (name.empty() || name.starts_with('.') || name.ends_with('~')) return false;
  if (name.size() > 1 && name.starts_with('#') && name.ends_with('#')) return false;
  for (const char* ext : {".dpkg-dist", ".dpkg-old", ".dpkg-new"}) {
    if (name.ends_with(ext)) return false;
  }
  return true;
}

/// "file:line" of the first dhcp-script another config of dnsmasq sets: `main_config`, then
/// the files dnsmasq loads from the drop-in's directory (in dnsmasq's order: by name),
/// except the drop-in. Files that cannot be read are passed over: setup runs as root and
/// reads what dnsmasq reads.
std::optional<std::string> foreign_dhcp_script(const std::string& dropin, const std::string& main_config) {
  std::vector<std::string> files{main_config};
  std::vector<std::string> in_dir;
  std::error_code ec;
  const std::filesystem::path own(dropin);
  for (std::filesystem::directory_iterator it(own.parent_path(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (name != own.filename().string() && conf_dir_loads(name) && it->is_regular_file(type_ec))
      in_dir.push_back(it->path().string());
  }
  std::sort(in_dir.begin(), in_dir.end());
  files.insert(files.end(), in_dir.begin(), in_dir.end());
  for (const auto& file : files) {
    std::optional<std::string> content;
    try {
      content = util::read_file(file);
    } catch (const Error&) {
      continue;
    }
    if (!content) continue;
    if (const size_t line = dhcp_script_line(*content)) return file + ":" + std::to_string(line);
  }
  return std::nullopt;
}

/// Creates `dir` and any missing parents, 0755 whatever the umask: dnsmasq reads the
/// files inside after dropping root, as its own user.
void make_directories(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      throw Error(Exit::cant_create, dir + " exists and is not a directory");
    return;
  }
  if (errno != ENOENT) util::throw_system("checking " + dir, errno, Exit::cant_create);
  const std::string parent = util::dirname_of(dir);
  if (parent != dir) make_directories(parent);
  if (::mkdir(dir.c_str(), 0755) != 0) {
    if (errno == EEXIST) return;  // made meanwhile by someone else
    util::throw_system("creating " + dir, errno, Exit::cant_create);
  }
  if (::chmod(dir.c_str(), 0755) != 0)
    util::throw_system("setting the mode of " + dir, errno, Exit::cant_create);
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

Paths paths(const config::Dnsmasq& d) {
  return {join(d.conf_dir, "dashctl.conf"), join(d.state_dir, "hosts"),
          join(d.state_dir, "dhcp-hosts"), join(d.state_dir, "dhcp-script")};
}

std::string dhcp_script_helper() {
  const std::string self = self_executable();
  const std::string helper =
      std::filesystem::path(util::dirname_of(self) + "/" DASHCTL_DHCP_SCRIPT_FROM_BINDIR).lexically_normal().string();
  if (::access(helper.c_str(), X_OK) != 0)
    throw Error(Exit::unavailable,
                "dnsmasq's dhcp-script program " + helper + " is not installed beside " + self + ": " +
                    util::errno_text(errno),
                "reinstall dashctl, or set dnsmasq.dhcp_script = false");
  return helper;
}

std::string self_executable() {
  std::string path(4096, '\0');
  const ssize_t n = ::readlink("/proc/self/exe", path.data(), path.size());
  if (n < 0) util::throw_system("finding dashctl's own binary through /proc/self/exe", errno);
  if (static_cast<size_t>(n) == path.size())
    throw Error(Exit::os, "finding dashctl's own binary: its path is too long");
  path.resize(static_cast<size_t>(n));
  // Replaced while it runs (an upgrade): the kernel appends " (deleted)", and the path
  // names the new binary.
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.ends_with(kDeleted)) {
    path.resize(path.size() - kDeleted.size());
    if (::access(path.c_str(), X_OK) != 0)
      throw Error(Exit::os, "dashctl's own binary " + path + " was removed while it ran",
                  "run setup again with the installed dashctl");
  }
  return path;
}

Rendered render(const config::Config& c, util::Ipv4 listen_address,
                const std::optional<std::string>& helper) {
  const Paths p = paths(c.dnsmasq);
  require_plain_path(c.dnsmasq.state_dir, "state_dir");
  // dnsmasq reads every file in its conf-dir as config, the hosts files included.
  if (same_directory(c.dnsmasq.state_dir, c.dnsmasq.conf_dir))
    throw Error(Exit::data,
                "dnsmasq.state_dir cannot be dnsmasq.conf_dir: dnsmasq would read the "
                "hosts files as configuration");
  Rendered r{{p.dropin, render_dropin(c, p)},
             {p.hosts, render_hosts(c, listen_address)},
             {p.dhcp_hosts, render_dhcp_hosts(c)},
             {p.dhcp_script, {}, 0755}};
  if (c.dnsmasq.dhcp_script)
    r.dhcp_script.content = render_dhcp_script(c, helper ? *helper : dhcp_script_helper());
  return r;
}

const char* change_name(Change c) {
  switch (c) {
    case Change::unchanged:
      return "unchanged";
    case Change::create:
      return "create";
    case Change::update:
      return "update";
    case Change::remove:
      return "remove";
  }
  return "?";
}

bool Plan::any_change() const {
  return std::any_of(files.begin(), files.end(),
                     [](const FileChange& f) { return f.change != Change::unchanged; });
}

Plan plan_setup(const Rendered& wanted, const std::string& main_config) {
  Plan plan;
  const bool script = !wanted.dhcp_script.content.empty();
  // Compare all of them before deciding anything, so that a foreign file anywhere stops
  // the whole plan.
  plan.files = {compare(wanted.hosts), compare(wanted.dhcp_hosts)};
  if (script) plan.files.push_back(compare(wanted.dhcp_script));
  plan.files.push_back(compare(wanted.dropin));
  plan.dropin_changed = plan.files.back().change != Change::unchanged;
  if (script) {
    // dnsmasq refuses a second dhcp-script ("illegal repeated keyword") and would not start.
    if (const auto where = foreign_dhcp_script(wanted.dropin.path, main_config))
      throw Error(Exit::data, *where + ": dnsmasq's dhcp-script is set there already, and dnsmasq takes only one",
                  "set dnsmasq.dhcp_script = false in dashctl's config, and call 'dashctl dhcp-event' from "
                  "that script with its arguments");
  } else if (const auto old = util::read_file(wanted.dhcp_script.path);
             old && is_ours(*old, wanted.dhcp_script.mode)) {
    // Left by a setup with dnsmasq.dhcp_script on; removed after the drop-in that named it.
    plan.files.push_back({wanted.dhcp_script.path, Change::remove, *old, {}, wanted.dhcp_script.mode,
                          mode_of(wanted.dhcp_script.path, wanted.dhcp_script.mode)});
  }
  return plan;
}

Plan plan_teardown(const config::Config& c) {
  const Paths p = paths(c.dnsmasq);
  const std::pair<const std::string*, mode_t> files[] = {
      {&p.dropin, 0644}, {&p.hosts, 0644}, {&p.dhcp_hosts, 0644}, {&p.dhcp_script, 0755}};
  Plan plan;
  for (const auto& [path, mode] : files) {
    const auto old = util::read_file(*path);
    if (!old) continue;
    require_ours(*path, *old, mode);
    plan.files.push_back({*path, Change::remove, *old, {}, mode, mode_of(*path, mode)});
    if (path == &p.dropin) plan.dropin_changed = true;
  }
  return plan;
}

Plan undo(const Plan& plan) {
  Plan back;
  back.dropin_changed = plan.dropin_changed;
  for (auto f = plan.files.rbegin(); f != plan.files.rend(); ++f) {
    FileChange b{f->path, f->change, f->new_content, f->old_content, f->old_mode, f->mode};
    if (f->change == Change::create) b.change = Change::remove;
    if (f->change == Change::remove) b.change = Change::create;
    back.files.push_back(std::move(b));
  }
  return back;
}

std::string diff(const FileChange& change) {
  switch (change.change) {
    case Change::unchanged:
      return {};
    case Change::create:
      return "--- /dev/null\n+++ " + change.path + "\n" + util::unified_diff("", change.new_content);
    case Change::remove:
      return "--- " + change.path + "\n+++ /dev/null\n" + util::unified_diff(change.old_content, "");
    case Change::update:
      return "--- " + change.path + "\n+++ " + change.path + "\n" +
             util::unified_diff(change.old_content, change.new_content);
  }
  return {};
}

std::optional<std::string> find_dnsmasq() {
  if (auto found = find_program("dnsmasq")) return found;
  for (const char* path : {"/usr/sbin/dnsmasq", "/usr/local/sbin/dnsmasq", "/sbin/dnsmasq"}) {
    if (::access(path, X_OK) == 0) return std::string(path);
  }
  return std::nullopt;
}

void check_dropin(const std::string& dnsmasq, const std::string& content,
                  const std::string& scratch_dir, const std::string& shown_path) {
  // A hidden name with our pid: no clash with a concurrent dashctl, and dnsmasq never
  // loads it (it is not in the conf-dir).
  const std::string tmp = join(scratch_dir, ".dashctl.conf.check." + std::to_string(::getpid()));
  util::write_file_atomic(tmp, content, 0600);
  struct Cleanup {
    const std::string& path;
    ~Cleanup() {
      try {
        util::remove_file(path);
      } catch (const Error&) {
        // Nothing better to do: the file is hidden and harmless.
      }
    }
  } cleanup{tmp};
  // --conf-file alone stops dnsmasq from reading its default config: only the drop-in is
  // checked. dnsmasq 2.90 does not open addn-hosts or dhcp-hostsfile for --test, so they
  // need not exist yet.
  const RunResult r = run({dnsmasq, "--test", "--conf-file=" + tmp}, kTestTimeout);
  if (r.ok()) return;
  if (r.timed_out) throw Error(Exit::unavailable, dnsmasq + " --test " + r.why());
  std::string line = r.first_error_line();
  for (size_t at = line.find(tmp); at != std::string::npos;
       at = line.find(tmp, at + shown_path.size()))
    line.replace(at, tmp.size(), shown_path);
  if (line.starts_with("dnsmasq: ")) line.erase(0, 9);
  if (line.empty()) line = r.why();
  throw Error(Exit::data, "dnsmasq rejects the drop-in: " + line);
}

void apply(const Plan& plan, const config::Config& c, DropinChecked checked) {
  const Paths p = paths(c.dnsmasq);
  const auto writes = [](const FileChange& f) {
    return f.change == Change::create || f.change == Change::update;
  };
  const FileChange* new_dropin = nullptr;
  bool writes_state = false;
  for (const auto& f : plan.files) {
    if (!writes(f)) continue;
    if (f.path == p.dropin) {
      new_dropin = &f;
    } else {
      writes_state = true;
    }
  }
  if (new_dropin && !is_directory(c.dnsmasq.conf_dir))
    throw Error(Exit::unavailable, c.dnsmasq.conf_dir + " does not exist",
                "dnsmasq's conf-dir is missing: install dnsmasq, or set dnsmasq.conf_dir to the "
                "directory dnsmasq's conf-dir= option names");
  // The check writes its temporary file into state_dir, so that exists first.
  if (new_dropin || writes_state) make_directories(c.dnsmasq.state_dir);
  if (new_dropin && checked == DropinChecked::no) {
    if (const auto dnsmasq = find_dnsmasq())
      check_dropin(*dnsmasq, new_dropin->new_content, c.dnsmasq.state_dir, new_dropin->path);
  }
  for (const auto& f : plan.files) {
    if (writes(f)) {
      util::write_file_atomic(f.path, f.new_content, f.mode);
    } else if (f.change == Change::remove) {
      util::remove_file(f.path);
    }
  }
}

}  // namespace dashctl::dnsmasq
