// SPDX-License-Identifier: GPL-2.0-or-later
#include "dnsmasq/control.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <thread>

#include "dnsmasq/run.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/spawn.h"

namespace dashctl::dnsmasq {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using util::Error;
using util::Exit;

constexpr auto kCommandTimeout = 10s;
constexpr auto kStopTimeout = 5s;
constexpr auto kKillTimeout = 2s;
constexpr auto kStartTimeout = 5s;
constexpr auto kFirstPoll = 1ms;      ///< dnsmasq stops within a millisecond or two of SIGTERM
constexpr auto kPollInterval = 10ms;  ///< the longest pause between polls

const char* verb(Refresh what) { return what == Refresh::reload ? "reload" : "restart"; }

/// The pid a pid file names, or nullopt when there is no file or no number in it.
std::optional<pid_t> read_pid(const std::string& pidfile) {
  const auto text = util::read_file(pidfile);
  if (!text) return std::nullopt;
  const auto first = text->find_first_not_of(" \t\n");
  const auto last = text->find_last_not_of(" \t\n");
  if (first == std::string::npos) return std::nullopt;
  const char* begin = text->data() + first;
  const char* end = text->data() + last + 1;
  long pid = 0;
  const auto [ptr, ec] = std::from_chars(begin, end, pid);
  if (ec != std::errc{} || ptr != end || pid <= 0 || pid > INT_MAX) return std::nullopt;
  return static_cast<pid_t>(pid);
}

/// Whether `pid` is a process that has not exited.
bool alive(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  // kill() also reaches a zombie: an exited dnsmasq whose parent has not reaped it yet
  // (some containers' init never does). Its state in /proc says so.
  try {
    const auto stat = util::read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return false;
    // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
    const auto close = stat->rfind(')');
    if (close == std::string::npos || close + 2 >= stat->size()) return true;
    const char state = (*stat)[close + 2];
    return state != 'Z' && state != 'X';
  } catch (const Error&) {
    return true;  // /proc hidden from us (hidepid): kill() said it exists
  }
}

[[noreturn]] void not_running(const std::string& pidfile) {
  throw Error(Exit::unavailable, "dnsmasq is not running (no live pid in " + pidfile + ")",
              "start dnsmasq, or set dnsmasq.reload");
}

pid_t live_pid(const std::string& pidfile) {
  const auto pid = read_pid(pidfile);
  if (!pid || !alive(*pid)) not_running(pidfile);
  return *pid;
}

void send(pid_t pid, int sig, const char* what) {
  if (::kill(pid, sig) != 0 && errno != ESRCH)
    util::throw_system(std::string(what) + " dnsmasq (pid " + std::to_string(pid) + ")", errno,
                       Exit::unavailable);
}

/// Polls until `done` or `limit` passes, first after kFirstPoll, then twice as long each
/// time up to kPollInterval. Returns whether it is done.
template <class Done>
bool wait_until(Done done, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  std::chrono::milliseconds pause = kFirstPoll;
  for (;;) {
    if (done()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::milliseconds>(pause * 2, kPollInterval);
  }
}

/// The command line a process was started with.
std::vector<std::string> cmdline_of(pid_t pid) {
  const std::string file = "/proc/" + std::to_string(pid) + "/cmdline";
  const auto text = util::read_file(file);
  std::vector<std::string> argv;
  if (!text) return argv;
  size_t start = 0;
  while (start < text->size()) {
    size_t end = text->find('\0', start);
    if (end == std::string::npos) end = text->size();
    argv.push_back(text->substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

/// The program a process runs. argv[0] may be a bare name ("dnsmasq"), so it comes from
/// /proc/PID/exe; after an upgrade that path carries " (deleted)" and names the new binary.
std::string program_of(pid_t pid) {
  const std::string link = "/proc/" + std::to_string(pid) + "/exe";
  char buf[PATH_MAX];
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  if (n < 0)
    util::throw_system("finding the program of dnsmasq (pid " + std::to_string(pid) + ")", errno,
                       Exit::unavailable);
  std::string path(buf, static_cast<size_t>(n));
  constexpr std::string_view deleted = " (deleted)";
  if (path.ends_with(deleted)) path.resize(path.size() - deleted.size());
  return path;
}

/// Starts `program` with `argv` in a session of its own, detached from ours: stdio on
/// /dev/null, working directory /. dnsmasq then daemonizes itself.
pid_t start_detached(const std::string& program, const std::vector<std::string>& argv) {
  util::SpawnOptions o;
  o.program = program;
  // A string moved in, not `= "/"`: GCC 12 at -O3 takes that one-character assignment for an
  // overlapping memcpy (-Wrestrict, GCC bug 105329).
  o.directory = std::string("/");
  o.new_session = true;
  const auto child = util::spawn(argv, o);
  if (!child) util::throw_system("starting " + program, child.error, Exit::unavailable);
  return child.pid;
}

void run_checked(const std::vector<std::string>& argv);

/// The program of `pid` when it is dnsmasq. dashctl runs as root and signals, stops and
/// starts again what the pid file names: only ever dnsmasq, never whatever a stale pid file
/// now points at.
std::string require_dnsmasq(pid_t pid, const std::string& pidfile, const char* verb) {
  const auto program = program_of(pid);
  const std::string name = program.substr(program.rfind('/') + 1);  // whole when no '/'
  if (name != "dnsmasq")
    throw Error(Exit::unavailable,
                "pid " + std::to_string(pid) + " in " + pidfile + " runs " + program + ", not dnsmasq; refusing to " +
                    verb + " it",
                "fix the pid file, or set dnsmasq.reload to \"systemctl\" or a command");
  return program;
}

void restart_by_pidfile(const std::string& pidfile) {
  const pid_t old = live_pid(pidfile);
  if (old == 1)
    throw Error(
        Exit::unavailable,
        "dnsmasq in " + pidfile + " is pid 1; stopping it would end the system or container",
        "set dnsmasq.reload to a command that restarts it");
  // Debian's dnsmasq runs in dnsmasq.service: started again by hand it would land in the
  // cgroup of whatever ran setup (dashctl-setup.service, a login session) and leave its unit
  // failed. systemd restarts it in its own.
  if (::access("/run/systemd/system", F_OK) == 0) {
    if (const auto unit = dnsmasq_unit_of(util::read_file("/proc/" + std::to_string(old) + "/cgroup").value_or(""))) {
      run_checked({"systemctl", "restart", *unit});
      return;
    }
  }
  // Everything needed to start it again is read while it still runs.
  const auto argv = cmdline_of(old);
  const auto program = require_dnsmasq(old, pidfile, "restart");
  if (argv.empty())
    throw Error(Exit::unavailable, "pid " + std::to_string(old) + " in " + pidfile + " has no command line to start again");

  send(old, SIGTERM, "stopping");
  if (!wait_until([&] { return !alive(old); }, kStopTimeout)) {
    send(old, SIGKILL, "killing");
    if (!wait_until([&] { return !alive(old); }, kKillTimeout))
      throw Error(Exit::os, "dnsmasq (pid " + std::to_string(old) + ") does not exit");
  }

  const pid_t child = start_detached(program, argv);
  bool reaped = false;
  int status = 0;
  std::optional<pid_t> fresh;
  const auto started = [&] {
    if (!reaped && ::waitpid(child, &status, WNOHANG) == child) reaped = true;
    if (reaped && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) return true;  // failed
    if (!fresh) {
      try {
        const auto pid = read_pid(pidfile);
        if (pid && *pid != old && alive(*pid)) fresh = pid;
      } catch (const Error&) {
        // Being written: read again on the next pass.
      }
    }
    // dnsmasq's first process exits once the daemon runs; waiting for it leaves no
    // zombie behind. With --keep-in-foreground the child is the daemon itself.
    return fresh && (reaped || *fresh == child);
  };
  wait_until(started, kStartTimeout);
  const std::string again = "dnsmasq did not start again after being stopped: ";
  const std::string hint =
      "see dnsmasq's log (syslog or its log-facility), and start it by hand: " + display(argv);
  if (reaped && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    const std::string how = WIFEXITED(status)
                                ? "exit status " + std::to_string(WEXITSTATUS(status))
                                : "killed by signal " + std::to_string(WTERMSIG(status));
    throw Error(Exit::unavailable, again + program + " ended with " + how, hint);
  }
  if (!fresh)
    throw Error(Exit::unavailable,
                again + "no new live pid in " + pidfile + " after " +
                    std::to_string(std::chrono::seconds(kStartTimeout).count()) + " s",
                hint);
}

void run_checked(const std::vector<std::string>& argv) {
  const RunResult r = run(argv, kCommandTimeout);
  if (!r.ok()) throw Error(Exit::unavailable, display(argv) + " failed: " + r.why());
}

}  // namespace

std::optional<std::string> dnsmasq_unit_of(std::string_view cgroup) {
  while (!cgroup.empty()) {
    const auto eol = cgroup.find('\n');
    std::string_view line = cgroup.substr(0, eol);
    cgroup = eol == std::string_view::npos ? std::string_view{} : cgroup.substr(eol + 1);
    // "0::/system.slice/dnsmasq.service" (v2) or "1:name=systemd:/system.slice/..." (v1).
    if (!line.starts_with("0::") && line.find(":name=systemd:") == std::string_view::npos) continue;
    const auto path = line.substr(line.find(':', line.find(':') + 1) + 1);
    std::string_view unit = path.substr(path.rfind('/') + 1);
    if (!unit.ends_with(".service")) continue;
    const auto stem = unit.substr(0, unit.size() - 8);
    const bool ours = stem == "dnsmasq" || (stem.starts_with("dnsmasq@") && stem.size() > 8);
    if (!ours) continue;
    for (const char ch : unit)
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '@' || ch == '.' || ch == '-' || ch == '_' || ch == ':'))
        return std::nullopt;
    return std::string(unit);
  }
  return std::nullopt;
}

void refresh(const config::Reload& how, Refresh what) {
  switch (how.kind) {
    case config::Reload::Kind::pidfile:
      if (what == Refresh::reload) {
        // dnsmasq re-reads addn-hosts and dhcp-hostsfile on SIGHUP.
        const pid_t pid = live_pid(how.pidfile);
        require_dnsmasq(pid, how.pidfile, "signal");
        send(pid, SIGHUP, "signalling");
      } else {
        restart_by_pidfile(how.pidfile);
      }
      return;
    case config::Reload::Kind::systemctl:
      run_checked({"systemctl", verb(what), how.unit});
      return;
    case config::Reload::Kind::command: {
      auto argv = how.command;
      argv.emplace_back(verb(what));
      run_checked(argv);
      return;
    }
  }
}

std::optional<bool> running(const config::Reload& how) {
  switch (how.kind) {
    case config::Reload::Kind::pidfile:
      try {
        const auto pid = read_pid(how.pidfile);
        return pid && alive(*pid);
      } catch (const Error&) {
        return std::nullopt;  // the pid file cannot be read
      }
    case config::Reload::Kind::systemctl:
      try {
        const RunResult r = run({"systemctl", "is-active", "--quiet", how.unit}, kCommandTimeout);
        if (r.timed_out) return std::nullopt;
        return r.exit_status == 0;
      } catch (const Error&) {
        return std::nullopt;  // no systemctl
      }
    case config::Reload::Kind::command:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace dashctl::dnsmasq
