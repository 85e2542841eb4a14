// SPDX-License-Identifier: GPL-2.0-or-later
// The helper that runs dnsmasq --test, systemctl and reload commands: argv, captured
// stderr, a deadline.

#include "support/catch.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "dnsmasq/processes.h"
#include "dnsmasq/run.h"
#include "util/error.h"

using namespace dashctl;
using namespace dashctl::dnsmasq;
using namespace std::chrono_literals;

TEST_CASE("run returns the exit status and what the program wrote to stderr") {
  const auto r =
      run({"/bin/sh", "-c", "echo >&2; echo one >&2; echo two >&2; echo out; exit 3"}, 10s);
  CHECK_FALSE(r.ok());
  CHECK(r.exit_status == 3);
  CHECK(r.signal == 0);
  CHECK_FALSE(r.timed_out);
  CHECK(r.errors == "\none\ntwo\n");  // stdout goes to /dev/null
  CHECK(r.first_error_line() == "one");
  CHECK(r.why() == "exit status 3: one");

  const auto ok = run({"true"}, 10s);  // found in PATH
  CHECK(ok.ok());
  CHECK(ok.why() == "exit status 0");
}

TEST_CASE("run gives the program /dev/null as stdin and a clean signal state") {
  const auto r =
      run({"/bin/sh", "-c", "read x; echo \"got [$x]\" >&2; trap - HUP; kill -HUP $$"}, 10s);
  CHECK(r.first_error_line() == "got []");
  CHECK(r.signal == SIGHUP);
  CHECK(r.exit_status == -1);
  CHECK(r.why() == "killed by signal 1: got []");
}

TEST_CASE("run kills a program that outlives its deadline, with what it started") {
  test::Subreaper subreaper;  // the orphaned sleep becomes ours to reap
  // Had run waited for the shell, the sleep would have ended by itself, not by SIGKILL.
  const auto r = run({"/bin/sh", "-c", "sleep 30 & echo $! >&2; wait"}, 300ms);
  CHECK(r.timed_out);
  CHECK_FALSE(r.ok());
  CHECK(r.why().starts_with("timed out after 300 ms"));
  const pid_t sleeper = std::stoi(r.first_error_line());
  const int status = test::reap(sleeper);
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
}

TEST_CASE("run does not wait for a grandchild that keeps stderr open") {
  test::Subreaper subreaper;  // the orphaned sleep becomes ours to end and reap
  // Had run waited for stderr's end, it would have timed out, with the sleep ended.
  const auto r = run({"/bin/sh", "-c", "sleep 60 & echo $! >&2; exit 0"}, 10s);
  CHECK(r.ok());
  const pid_t sleeper = std::stoi(r.first_error_line());
  CHECK(::waitpid(sleeper, nullptr, WNOHANG) == 0);  // still running, and ours
  test::end(sleeper);
}

TEST_CASE("run keeps the first 64 KiB of a flood of errors without blocking the program") {
  const auto r = run({"/bin/sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x >&2"}, 10s);
  CHECK(r.ok());
  CHECK(r.errors.size() == 64 * 1024);
}

TEST_CASE("run says which program could not be started") {
  try {
    run({"/nonexistent/program", "x"}, 10s);
    FAIL("no error");
  } catch (const util::Error& e) {
    CHECK(e.code() == util::Exit::unavailable);
    CHECK(std::string(e.what()).starts_with("running /nonexistent/program: "));
  }
}

TEST_CASE("find_program searches PATH") {
  CHECK(find_program("sh").has_value());
  CHECK_FALSE(find_program("dashctl-no-such-program").has_value());
}

TEST_CASE("display quotes what a shell would split") {
  CHECK(display({"/usr/sbin/dnsmasq", "--test", "--conf-file=/a/b"}) ==
        "/usr/sbin/dnsmasq --test --conf-file=/a/b");
  CHECK(display({"/bin/sh", "-c", "echo 'hi' there", ""}) ==
        "/bin/sh -c 'echo '\\''hi'\\'' there' ''");
}
