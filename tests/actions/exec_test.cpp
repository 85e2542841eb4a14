// SPDX-License-Identifier: GPL-2.0-or-later
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include "support/catch.h"
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "actions/actions.h"
#include "actions/support.h"
#include "support/tmpdir.h"

using namespace dashctl;
using namespace std::chrono_literals;
using test::LogCapture;
using test::no_children;

namespace {

struct Result {
  int calls = 0;
  actions::Outcome outcome;
};

/// Runs one exec action to its end; the loop must be out of work within `limit`.
Result exec(std::vector<std::string> argv, std::chrono::milliseconds timeout = 10s,
            const press::Press& e = test::press_event(), std::chrono::milliseconds limit = 15s) {
  boost::asio::io_context io;
  Result r;
  actions::run_exec(io, config::ExecAction{std::move(argv), timeout}, e, [&](const actions::Outcome& o) {
    ++r.calls;
    r.outcome = o;
  });
  CHECK(r.calls == 0);  // `done` runs on the loop, never inside run_exec
  io.run_for(limit);    // returns early once nothing is left to do
  CHECK(io.stopped());  // nothing left behind on the loop after `done`
  CHECK(r.calls == 1);
  return r;
}

/// True once `pid` (not our child) has gone, or is a zombie waiting for its new parent.
bool gone(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!stat || !std::getline(stat, text)) return true;
    const auto paren = text.rfind(')');
    if (paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z') return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_CASE("exec: the event is in the environment beside the daemon's own") {
  LogCapture log;
  test::ScopedEnv inherited("DASHCTL_TEST_INHERITED", "yes");
  test::ScopedEnv stale("DASHCTL_BUTTON", "stale");  // replaced, not duplicated
  const std::string script =
      "echo \"b=$DASHCTL_BUTTON m=$DASHCTL_MAC i=$DASHCTL_IP s=$DASHCTL_SOURCE c=$DASHCTL_COUNT\"; "
      "echo \"inherited=$DASHCTL_TEST_INHERITED path=${PATH:+set}\"; "
      "env | grep -c '^DASHCTL_BUTTON='";
  auto r = exec({"/bin/sh", "-c", script});
  CHECK(r.outcome.ok);
  CHECK(r.outcome.summary == "exit 0");
  CHECK(log.lines("exec[") == std::vector<std::string>{
                                  "exec[bedroom]: b=bedroom m=68:54:fd:12:34:56 i=10.77.0.201 s=dhcp c=42",
                                  "exec[bedroom]: inherited=yes path=set",
                                  "exec[bedroom]: 1",
                              });

  SECTION("an unknown MAC is set, and empty") {
    auto e = test::press_event();
    e.first.mac.reset();
    LogCapture log2;
    r = exec({"/bin/sh", "-c", "echo \"${DASHCTL_MAC+set}:$DASHCTL_MAC\""}, 10s, e);
    CHECK(log2.lines("exec[") == std::vector<std::string>{"exec[bedroom]: set:"});
  }
  CHECK(no_children());
}

TEST_CASE("exec: arguments are rendered and no shell sees them") {
  LogCapture log;
  test::TempDir dir;
  const std::string touch = "$(touch " + (dir / "x") + ")";
  const auto r = exec({"/usr/bin/printf", "%s|", "{button}", "{count}-{source}", touch,
                       "`touch " + (dir / "y") + "`", "a b; rm -rf /", "*", "$HOME"});
  CHECK(r.outcome.ok);
  CHECK(log.lines("exec[") ==
        std::vector<std::string>{"exec[bedroom]: bedroom|42-dhcp|" + touch + "|`touch " + (dir / "y") +
                                 "`|a b; rm -rf /|*|$HOME|"});
  CHECK_FALSE(std::filesystem::exists(dir / "x"));
  CHECK_FALSE(std::filesystem::exists(dir / "y"));
  CHECK(no_children());
}

TEST_CASE("exec: stdout and stderr are logged line by line and the exit status is the outcome") {
  LogCapture log;
  auto r = exec({"/bin/sh", "-c", "echo out; echo err >&2; echo; printf 'crlf\\r\\nlast'"});
  CHECK(r.outcome.ok);
  CHECK(r.outcome.summary == "exit 0");
  const auto lines = log.lines("exec[");
  REQUIRE(lines.size() == 5);
  // The two pipes are read independently: only each one's order is certain.
  CHECK(std::count(lines.begin(), lines.end(), "exec[bedroom]: out") == 1);
  CHECK(std::count(lines.begin(), lines.end(), "exec[bedroom]: err") == 1);
  CHECK(std::find(lines.begin(), lines.end(), "exec[bedroom]: out") <
        std::find(lines.begin(), lines.end(), "exec[bedroom]: "));
  CHECK(std::count(lines.begin(), lines.end(), "exec[bedroom]: crlf") == 1);
  CHECK(lines.back() == "exec[bedroom]: last");

  r = exec({"/bin/sh", "-c", "exit 3"});
  CHECK_FALSE(r.outcome.ok);
  CHECK(r.outcome.summary == "exit 3");

  r = exec({"/bin/sh", "-c", "kill -SEGV $$"});
  CHECK_FALSE(r.outcome.ok);
  CHECK(r.outcome.summary == "killed by SIGSEGV");
  CHECK(no_children());
}

TEST_CASE("exec: stdin is /dev/null and no other descriptor is inherited") {
  LogCapture log;
  // A descriptor the daemon opened without O_CLOEXEC (Asio's sockets are such).
  const int leaky = ::fcntl(::open("/dev/null", O_RDONLY), F_DUPFD, 100);
  REQUIRE(leaky >= 100);
  const auto fd = std::to_string(leaky);
  const auto r =
      exec({"/bin/sh", "-c",
            "readlink /proc/$$/fd/0; test -e /proc/$$/fd/" + fd + " && echo leaked || echo closed; cat"});
  ::close(leaky);
  CHECK(r.outcome.ok);
  CHECK(log.lines("exec[") == std::vector<std::string>{"exec[bedroom]: /dev/null", "exec[bedroom]: closed"});
  CHECK(no_children());
}

TEST_CASE("exec: output beyond 100 lines or 64 KiB is read and dropped") {
  SECTION("lines") {
    LogCapture log;
    const auto r = exec({"/usr/bin/seq", "1", "100000"});
    CHECK(r.outcome.ok);
    const auto lines = log.lines("exec[");
    REQUIRE(lines.size() == 101);
    CHECK(lines[0] == "exec[bedroom]: 1");
    CHECK(lines[99] == "exec[bedroom]: 100");
    CHECK(lines[100] == "exec[bedroom]: output truncated");
  }
  SECTION("exactly 100 lines is not truncated") {
    LogCapture log;
    const auto r = exec({"/usr/bin/seq", "1", "100"});
    CHECK(r.outcome.ok);
    const auto lines = log.lines("exec[");
    REQUIRE(lines.size() == 100);
    CHECK(lines.back() == "exec[bedroom]: 100");
  }
  SECTION("bytes: the program writes 4 MB without a newline and is never blocked") {
    LogCapture log;
    const auto r = exec({"/bin/sh", "-c", "head -c 4000000 /dev/zero | tr '\\0' x; echo done >&2"}, 10s);
    CHECK(r.outcome.ok);  // blocked, it would have been killed at the timeout
    const auto lines = log.lines("exec[");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "exec[bedroom]: " + std::string(64 * 1024, 'x'));
    CHECK(lines[1] == "exec[bedroom]: output truncated");
  }
  CHECK(no_children());
}

TEST_CASE("exec: the timeout kills the program and what it started") {
  test::TempDir dir;
  const auto pidfile = dir / "pid";
  const auto r = exec({"/bin/sh", "-c", "/bin/sleep 60 & echo $! > " + pidfile + "; wait"}, 300ms);
  CHECK_FALSE(r.outcome.ok);
  CHECK(r.outcome.summary == "killed after 300ms timeout");
  CHECK(r.outcome.took >= 300ms);  // and exec()'s own bound, 15 s, the upper one
  std::ifstream in(pidfile);
  pid_t sleeper = 0;
  REQUIRE(in >> sleeper);
  REQUIRE(sleeper > 1);
  CHECK(gone(sleeper));
  CHECK(no_children());
}

TEST_CASE("exec: a program that ignores SIGTERM gets SIGKILL 2 s later") {
  const auto r = exec({"/bin/sh", "-c", "trap '' TERM; /bin/sleep 60; echo survived"}, 200ms);
  CHECK_FALSE(r.outcome.ok);
  CHECK(r.outcome.summary == "killed after 200ms timeout");
  CHECK(r.outcome.took >= 2200ms);  // and exec()'s own bound, 15 s, the upper one
  CHECK(no_children());
}

TEST_CASE("exec: a program that cannot start is a failed outcome") {
  test::TempDir dir;
  auto r = exec({"/nonexistent/dashctl-test-program", "x"});
  CHECK_FALSE(r.outcome.ok);
  CHECK(r.outcome.summary == "cannot run /nonexistent/dashctl-test-program: No such file or directory");

  const auto plain = dir.write("not-executable", "#!/bin/sh\necho hi\n");
  r = exec({plain});
  CHECK_FALSE(r.outcome.ok);
  CHECK(r.outcome.summary == "cannot run " + plain + ": Permission denied");

  // No shell stands in for a script without #! (execvp would run /bin/sh on it).
  const auto script = dir.write("no-shebang", "echo hi\n");
  ::chmod(script.c_str(), 0755);
  r = exec({script});
  CHECK_FALSE(r.outcome.ok);
  CHECK(r.outcome.summary == "cannot run " + script + ": Exec format error");

  r = exec({});
  CHECK_FALSE(r.outcome.ok);
  CHECK(r.outcome.summary == "no program to run");
  CHECK(no_children());
}

TEST_CASE("exec: running programs never block the loop") {
  LogCapture log;
  boost::asio::io_context io;
  int ticks = 0;
  bool ticking = true;
  boost::asio::steady_timer ticker(io);
  std::function<void()> tick = [&] {
    ticker.expires_after(10ms);
    ticker.async_wait([&](const boost::system::error_code& ec) {
      if (ec || !ticking) return;
      ++ticks;
      tick();
    });
  };
  tick();
  // Five programs that each wait until all five have started and the loop's timer has fired
  // (it writes `go`): run one after another, or with the loop blocked on them, they would wait
  // until their 10 s timeout kills them, whatever the machine's speed.
  test::TempDir dir, flag;
  const std::string go = flag / "go";
  const std::string barrier = "touch " + dir.path() + "/$0; until [ $(ls " + dir.path() + " | wc -l) -ge 5 ] && [ -e " +
                              go + " ]; do sleep 0.01; done";
  std::vector<actions::Outcome> outcomes;
  for (int i = 0; i < 5; ++i)
    actions::run_exec(io, config::ExecAction{{"/bin/sh", "-c", barrier, std::to_string(i)}, 10s},
                      test::press_event(), [&](const actions::Outcome& o) { outcomes.push_back(o); });
  REQUIRE(test::run_until(
      io,
      [&] {
        if (ticks > 0 && !std::filesystem::exists(go)) flag.write("go", "");
        return outcomes.size() == 5;
      },
      60s));
  ticking = false;
  ticker.cancel();
  io.run_for(1s);
  for (const auto& o : outcomes) CHECK(o.ok);  // side by side, the loop free: none was killed
  CHECK(no_children());
}

TEST_CASE("exec: many runs leave no zombie") {
  LogCapture log;
  boost::asio::io_context io;
  int finished = 0;
  for (int i = 0; i < 30; ++i)
    actions::run_exec(io, config::ExecAction{{"/bin/sh", "-c", i % 2 ? "exit 1" : "echo {count}"}, 10s},
                      test::press_event(), [&](const actions::Outcome&) { ++finished; });
  io.run_for(20s);
  CHECK(io.stopped());
  CHECK(finished == 30);
  CHECK(no_children());
}

TEST_CASE("exec: a background child holding the pipes does not hold the action") {
  LogCapture log;
  test::TempDir dir;
  const auto pidfile = dir / "pid";
  const auto r = exec({"/bin/sh", "-c", "/bin/sleep 30 & echo $! > " + pidfile + "; echo started"});
  CHECK(r.outcome.ok);
  CHECK(r.outcome.summary == "exit 0");  // within exec()'s bound, 15 s: not after the sleep
  CHECK(log.lines("exec[") == std::vector<std::string>{"exec[bedroom]: started"});
  // Left running, as a program that daemonises means to; this test ends it.
  std::ifstream in(pidfile);
  pid_t sleeper = 0;
  REQUIRE(in >> sleeper);
  REQUIRE(sleeper > 1);
  ::kill(sleeper, SIGKILL);
  CHECK(gone(sleeper));
  CHECK(no_children());
}

TEST_CASE("exec: a program still running when the loop goes away is killed and reaped") {
  int calls = 0;
  {
    boost::asio::io_context io;
    actions::run_exec(io, config::ExecAction{{"/bin/sleep", "60"}, 30s}, test::press_event(),
                      [&](const actions::Outcome&) { ++calls; });
    io.run_for(100ms);
  }
  CHECK(calls == 0);
  CHECK(no_children());
}
