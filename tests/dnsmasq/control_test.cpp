// SPDX-License-Identifier: GPL-2.0-or-later
// Telling dnsmasq: by pid file against real processes this test starts (and ends, by
// pid), by systemctl through a stand-in in PATH, and by a command.

#include "support/catch.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <functional>

#include "dnsmasq/control.h"
#include "dnsmasq/files.h"
#include "dnsmasq/processes.h"
#include "support/tmpdir.h"
#include "util/error.h"
#include "util/fs.h"

using namespace dashctl;
using namespace dashctl::dnsmasq;
using namespace std::chrono_literals;
using namespace dashctl::test;

namespace {

std::optional<pid_t> pid_in(const std::string& file) {
  try {
    const auto text = util::read_file(file);
    if (!text || text->empty()) return std::nullopt;
    return static_cast<pid_t>(std::stol(*text));
  } catch (...) {
    return std::nullopt;
  }
}

config::Reload by_pidfile(const std::string& file) {
  config::Reload r;
  r.kind = config::Reload::Kind::pidfile;
  r.pidfile = file;
  return r;
}

config::Reload by_command(std::vector<std::string> argv) {
  config::Reload r;
  r.kind = config::Reload::Kind::command;
  r.command = std::move(argv);
  return r;
}

util::Exit code_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const util::Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return util::Exit::ok;
}

/// Puts `dir` first in PATH for the object's lifetime.
struct PathFirst {
  std::string saved;
  explicit PathFirst(const std::string& dir) {
    const char* p = std::getenv("PATH");
    saved = p ? p : "";
    ::setenv("PATH", (dir + ":" + saved).c_str(), 1);
  }
  ~PathFirst() { ::setenv("PATH", saved.c_str(), 1); }
};

}  // namespace

TEST_CASE("reload by pid file sends SIGHUP to the dnsmasq the file names") {
  const auto dnsmasq = find_dnsmasq();
  if (!dnsmasq) {
    WARN("skipped: dnsmasq is not installed");
    return;
  }
  TempDir dir;
  Subreaper subreaper;
  const auto pidfile = dir / "dnsmasq.pid", log = dir / "dnsmasq.log", hosts = dir.write("hosts", "10.0.0.1 a\n");
  // DNS on a free high port of 127.0.0.1 (no root needed): dnsmasq reads addn-hosts only
  // with DNS on. A port taken by someone else makes it exit 2: try another, a few times.
  const auto conf = dir.write("dnsmasq.conf", "addn-hosts=" + hosts +
                                                  "\nno-hosts\nno-resolv\nlisten-address=127.0.0.1\nbind-interfaces\n");
  int started = -1;
  for (int attempt = 0; attempt < 5 && started != 0; ++attempt) {
    const int port = 20000 + static_cast<int>((::getpid() * 7919 + attempt * 104729) % 40000);
    const pid_t starter = spawn({*dnsmasq, "--port=" + std::to_string(port), "--conf-file=" + conf, "--user=root",
                                 "--pid-file=" + pidfile, "--log-facility=" + log});
    started = reap(starter);
  }
  REQUIRE(started == 0);
  REQUIRE(eventually([&] { return pid_in(pidfile).has_value(); }));
  const pid_t pid = *pid_in(pidfile);
  const Ender ender{pid};
  // dnsmasq logs "read <file> - 1 names" when it starts and on every SIGHUP.
  const auto reads = [&] {
    const auto text = util::read_file(log).value_or("");
    size_t n = 0;
    for (size_t at = 0; (at = text.find("read " + hosts, at)) != std::string::npos; ++at) ++n;
    return n;
  };
  REQUIRE(eventually([&] { return reads() == 1; }));

  CHECK(running(by_pidfile(pidfile)) == true);
  refresh(by_pidfile(pidfile), Refresh::reload);
  CHECK(eventually([&] { return reads() == 2; }));
  // One at a time: two signals sent together may arrive as one.
  refresh(by_pidfile(pidfile), Refresh::reload);
  CHECK(eventually([&] { return reads() == 3; }));
  CHECK(pid_in(pidfile) == pid);  // still running: a reload is not a restart
  CHECK(::kill(pid, 0) == 0);

  end(pid);
  CHECK(running(by_pidfile(pidfile)) == false);
}

TEST_CASE("reload by pid file never signals a process that is not dnsmasq") {
  TempDir dir;
  const auto pidfile = dir / "dnsmasq.pid";
  // A stale pid file whose number now belongs to another program.
  const pid_t sleeper = spawn({"/bin/sleep", "30"});
  const Ender ender{sleeper};
  util::write_file_atomic(pidfile, std::to_string(sleeper) + "\n");
  std::string message;
  CHECK(code_of([&] { refresh(by_pidfile(pidfile), Refresh::reload); }, &message) == util::Exit::unavailable);
  CHECK(message == "pid " + std::to_string(sleeper) + " in " + pidfile +
                       " runs /usr/bin/sleep, not dnsmasq; refusing to signal it");
  CHECK(::waitpid(sleeper, nullptr, WNOHANG) == 0);  // untouched: a SIGHUP would have ended it
}

TEST_CASE("a missing pid file, a dead pid or garbage means dnsmasq is not running") {
  TempDir dir;
  const auto pidfile = dir / "dnsmasq.pid";
  const pid_t dead = spawn({"/bin/true"});
  REQUIRE(reap(dead) != -1);

  for (const auto& content : std::vector<std::optional<std::string>>{
           std::nullopt, std::to_string(dead) + "\n", "not a pid\n", "-5\n", ""}) {
    if (content) util::write_file_atomic(pidfile, *content);
    for (const auto what : {Refresh::reload, Refresh::restart}) {
      std::string message;
      CHECK(code_of([&] { refresh(by_pidfile(pidfile), what); }, &message) ==
            util::Exit::unavailable);
      CHECK(message == "dnsmasq is not running (no live pid in " + pidfile + ")");
    }
    CHECK(running(by_pidfile(pidfile)) == false);
  }
}

TEST_CASE("restart by pid file replaces dnsmasq with a new one started the same way") {
  const auto dnsmasq = find_dnsmasq();
  if (!dnsmasq) {
    WARN("skipped: dnsmasq is not installed");
    return;
  }
  TempDir dir;
  Subreaper subreaper;
  const auto pidfile = dir / "dnsmasq.pid", log = dir / "dnsmasq.log";
  const auto conf = dir.write("dnsmasq.conf", "# empty\n");
  // No DNS (port 0) and no DHCP: nothing to bind, so it runs anywhere, with or without root.
  const std::vector<std::string> argv{*dnsmasq,
                                      "--port=0",
                                      "--conf-file=" + conf,
                                      "--user=root",
                                      "--pid-file=" + pidfile,
                                      "--log-facility=" + log};
  const pid_t starter = spawn(argv);
  CHECK(reap(starter) == 0);  // dnsmasq's first process exits once the daemon runs
  REQUIRE(eventually([&] { return pid_in(pidfile).has_value(); }));
  const pid_t old = *pid_in(pidfile);
  const Ender old_ender{old};
  CHECK(running(by_pidfile(pidfile)) == true);

  refresh(by_pidfile(pidfile), Refresh::restart);

  const auto fresh = pid_in(pidfile);
  REQUIRE(fresh.has_value());
  const Ender fresh_ender{*fresh};
  CHECK(*fresh != old);
  CHECK(::kill(*fresh, 0) == 0);
  CHECK(reap(old) != -1);  // the old one has exited
  const auto cmdline = util::read_file("/proc/" + std::to_string(*fresh) + "/cmdline");
  std::string expected;
  for (const auto& a : argv) expected += a + '\0';
  CHECK(cmdline == expected);
  CHECK(running(by_pidfile(pidfile)) == true);

  SECTION("and says so when the new one does not start") {
    util::write_file_atomic(conf, "no-such-option\n");
    std::string message;
    CHECK(code_of([&] { refresh(by_pidfile(pidfile), Refresh::restart); }, &message) ==
          util::Exit::unavailable);
    CHECK(message == "dnsmasq did not start again after being stopped: " + *dnsmasq +
                         " ended with exit status 1");
    CHECK(reap(*fresh) != -1);
    CHECK(running(by_pidfile(pidfile)) == false);
  }
}

TEST_CASE("restart by pid file refuses a process that is not dnsmasq") {
  TempDir dir;
  const auto pidfile = dir / "dnsmasq.pid";
  const pid_t sleeper = spawn({"/bin/sleep", "30"});
  const Ender ender{sleeper};
  util::write_file_atomic(pidfile, std::to_string(sleeper) + "\n");
  std::string message;
  CHECK(code_of([&] { refresh(by_pidfile(pidfile), Refresh::restart); }, &message) ==
        util::Exit::unavailable);
  CHECK(message.find("not dnsmasq; refusing to restart it") != std::string::npos);
  CHECK(::waitpid(sleeper, nullptr, WNOHANG) == 0);  // untouched
}

TEST_CASE("a reload command gets 'reload' or 'restart' as its last argument") {
  TempDir dir;
  const auto log = dir / "calls";
  // $0 is the log; the verb dashctl appends is $1.
  const auto how = by_command({"/bin/sh", "-c", "printf '%s|%s\\n' \"$1\" \"$#\" >> \"$0\"", log});
  refresh(how, Refresh::reload);
  refresh(how, Refresh::restart);
  CHECK(util::read_file(log) == "reload|1\nrestart|1\n");
  CHECK_FALSE(running(how).has_value());
}

TEST_CASE("a failing reload command is reported with its first error line") {
  const auto how = by_command({"/bin/sh", "-c", "echo 'no such service' >&2; exit 2"});
  std::string message;
  CHECK(code_of([&] { refresh(how, Refresh::reload); }, &message) == util::Exit::unavailable);
  CHECK(message ==
        "/bin/sh -c 'echo '\\''no such service'\\'' >&2; exit 2' reload failed: "
        "exit status 2: no such service");
}

TEST_CASE("systemctl reloads, restarts and asks about the unit") {
  TempDir dir;
  const auto log = dir / "calls";
  // A stand-in systemctl that records its arguments; unit "up" is active.
  dir.write("bin/systemctl",
            "#!/bin/sh\necho \"$*\" >> '" + log +
                "'\n"
                "if [ \"$1\" = is-active ]; then [ \"$3\" = up ]; exit; fi\n"
                "[ \"$2\" = broken ] && { echo 'Job for broken.service failed.' >&2; exit 1; }\n"
                "exit 0\n");
  REQUIRE(::chmod((dir / "bin/systemctl").c_str(), 0755) == 0);
  PathFirst path(dir / "bin");

  config::Reload how;
  how.kind = config::Reload::Kind::systemctl;
  how.unit = "up";
  refresh(how, Refresh::reload);
  refresh(how, Refresh::restart);
  CHECK(running(how) == true);
  how.unit = "down";
  CHECK(running(how) == false);
  CHECK(util::read_file(log) ==
        "reload up\nrestart up\nis-active --quiet up\nis-active --quiet down\n");

  how.unit = "broken";
  std::string message;
  CHECK(code_of([&] { refresh(how, Refresh::restart); }, &message) == util::Exit::unavailable);
  CHECK(message ==
        "systemctl restart broken failed: exit status 1: Job for broken.service failed.");
}

TEST_CASE("without systemctl, whether dnsmasq runs is unknown") {
  TempDir dir;
  const char* p = std::getenv("PATH");
  const std::string saved = p ? p : "";
  ::setenv("PATH", dir.path().c_str(), 1);
  config::Reload how;
  how.kind = config::Reload::Kind::systemctl;
  const auto answer = running(how);
  ::setenv("PATH", saved.c_str(), 1);
  CHECK_FALSE(answer.has_value());
}

TEST_CASE("a restart goes through systemd only for dnsmasq's own unit") {
  using dnsmasq::dnsmasq_unit_of;
  CHECK(dnsmasq_unit_of("0::/system.slice/dnsmasq.service\n") == "dnsmasq.service");
  CHECK(dnsmasq_unit_of("0::/system.slice/system-dnsmasq.slice/dnsmasq@lan.service\n") == "dnsmasq@lan.service");
  CHECK(dnsmasq_unit_of("12:pids:/x\n1:name=systemd:/system.slice/dnsmasq.service\n0::/\n") == "dnsmasq.service");
  // Started by hand, by a test, or inside another service: never that service.
  CHECK_FALSE(dnsmasq_unit_of("0::/\n"));
  CHECK_FALSE(dnsmasq_unit_of("0::/user.slice/user-0.slice/session-3.scope\n"));
  CHECK_FALSE(dnsmasq_unit_of("0::/system.slice/gitlab-runner.service\n"));
  CHECK_FALSE(dnsmasq_unit_of("0::/system.slice/dashctl-setup.service\n"));
  CHECK_FALSE(dnsmasq_unit_of("0::/system.slice/dnsmasq-extra.service\n"));
  CHECK_FALSE(dnsmasq_unit_of("0::/system.slice/dnsmasq@.service\n"));
  CHECK_FALSE(dnsmasq_unit_of("0::/system.slice/dnsmasq@a b.service\n"));
  CHECK_FALSE(dnsmasq_unit_of("3:cpu:/system.slice/dnsmasq.service\n"));  // a v1 controller, not systemd's
  CHECK_FALSE(dnsmasq_unit_of(""));
}
