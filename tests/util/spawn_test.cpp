// SPDX-License-Identifier: GPL-2.0-or-later
// util::spawn, the one way dashctl starts a program: what the program gets (argv, stdio,
// environment, working directory) and what it does not (our signal mask, ignored signals,
// descriptors, capabilities), seen from inside it through /proc/self.

#include "support/catch.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "support/tmpdir.h"
#include "util/posix.h"
#include "util/spawn.h"

using namespace dashctl::util;
using dashctl::test::TempDir;

namespace {

/// How a program started by spawn() ended, and what it wrote to stdout.
struct Ran {
  pid_t pid = -1;
  int status = 0;
  std::string out;
};

/// Runs argv with stdout on a pipe (whatever `o` says of stdout), and waits for it.
Ran run(const std::vector<std::string>& argv, SpawnOptions o = {}) {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  Fd read_end(fds[0]), write_end(fds[1]);
  o.stdio[1] = write_end.get();
  const auto started = spawn(argv, o);
  REQUIRE(started.error == 0);
  write_end.reset();
  Ran r;
  r.pid = started.pid;
  char buf[4096];
  for (ssize_t n; (n = ::read(read_end.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    REQUIRE(n > 0);
    r.out.append(buf, static_cast<size_t>(n));
  }
  while (::waitpid(r.pid, &r.status, 0) < 0) REQUIRE(errno == EINTR);
  return r;
}

/// The value of a "Name:\tvalue" line of /proc/PID/status text.
std::string status_field(const std::string& status, const std::string& name) {
  std::istringstream in(status);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(name + ":")) return line.substr(line.find_first_not_of(" \t", name.size() + 1));
  FAIL("no " << name << " in:\n" << status);
  return {};
}

/// The process group and session of /proc/self/stat's text: its fields 5 and 6.
std::pair<pid_t, pid_t> group_and_session(const std::string& stat) {
  std::istringstream in(stat.substr(stat.rfind(')') + 2));  // the command may hold spaces
  std::string state;
  pid_t parent = 0, group = 0, session = 0;
  in >> state >> parent >> group >> session;
  return {group, session};
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("spawn runs argv, with /dev/null where no descriptor is given") {
  const auto r = run({"/bin/sh", "-c", "read x; echo \"[$x] $0 $1\"; echo lost >&2; exit 3", "zero", "one"});
  CHECK(r.out == "[] zero one\n");
  REQUIRE(WIFEXITED(r.status));
  CHECK(WEXITSTATUS(r.status) == 3);
}

TEST_CASE("spawn looks argv[0] up in PATH, and runs a given program as it is") {
  CHECK(run({"echo", "found"}).out == "found\n");
  SpawnOptions o;
  o.program = "/bin/echo";
  CHECK(run({"named-otherwise", "given"}, o).out == "given\n");
  o.program = "echo";  // not looked up: there is no ./echo
  CHECK(spawn({"echo"}, o).error == ENOENT);
}

TEST_CASE("spawn reports why a program could not start") {
  TempDir dir;
  const auto plain = dir.write("plain", "#!/bin/sh\n");
  CHECK(spawn({"/nonexistent/dashctl-test-program"}).error == ENOENT);
  CHECK(spawn({plain}).error == EACCES);
  CHECK(spawn({}).error == EINVAL);
  CHECK(spawn({""}).error == EINVAL);
  CHECK_FALSE(spawn({}));
}

TEST_CASE("spawn gives the program our environment, or the one it is given") {
  REQUIRE(::setenv("DASHCTL_SPAWN_TEST", "ours", 1) == 0);
  CHECK(has_line(run({"/usr/bin/env"}).out, "DASHCTL_SPAWN_TEST=ours"));
  SpawnOptions o;
  o.env = std::vector<std::string>{"ONLY=this", "EMPTY="};
  CHECK(run({"/usr/bin/env"}, o).out == "ONLY=this\nEMPTY=\n");
  ::unsetenv("DASHCTL_SPAWN_TEST");
}

TEST_CASE("spawn starts the program in a process group, or a session, of its own") {
  const auto grouped = run({"/bin/cat", "/proc/self/stat"});
  CHECK(group_and_session(grouped.out) == std::pair(grouped.pid, ::getsid(0)));
  SpawnOptions o;
  o.new_session = true;
  const auto detached = run({"/bin/cat", "/proc/self/stat"}, o);
  CHECK(group_and_session(detached.out) == std::pair(detached.pid, detached.pid));
}

TEST_CASE("spawn gives the program no blocked and no ignored signals") {
  sigset_t usr1, before;
  ::sigemptyset(&usr1);
  ::sigaddset(&usr1, SIGUSR1);
  REQUIRE(::sigprocmask(SIG_BLOCK, &usr1, &before) == 0);
  struct sigaction ignore {}, old {};
  ignore.sa_handler = SIG_IGN;
  REQUIRE(::sigaction(SIGUSR2, &ignore, &old) == 0);
  const auto ours = run({"/bin/cat", "/proc/self/status"}, {});
  ::sigaction(SIGUSR2, &old, nullptr);
  ::sigprocmask(SIG_SETMASK, &before, nullptr);
  CHECK(status_field(ours.out, "SigBlk") == "0000000000000000");
  // Signals 1 to 31 only: glibc's posix_spawn leaves its two internal ones (32 and 33, for
  // thread cancellation and setxid) ignored, whatever it is asked.
  const auto ignored = std::stoull(status_field(ours.out, "SigIgn"), nullptr, 16);
  CHECK((ignored & 0x7FFF'FFFFull) == 0);
}

TEST_CASE("spawn closes our other descriptors in the program when told to") {
  const int stray = 57;
  const Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  REQUIRE(::dup2(null.get(), stray) == stray);  // without O_CLOEXEC, as Asio opens its sockets
  CHECK(has_line(run({"/bin/ls", "/proc/self/fd"}).out, std::to_string(stray)));
  SpawnOptions o;
  o.close_other_fds = true;
  const auto listed = run({"/bin/ls", "/proc/self/fd"}, o).out;
  ::close(stray);
  CHECK_FALSE(has_line(listed, std::to_string(stray)));
  CHECK(has_line(listed, "1"));  // stdio stays
}

TEST_CASE("spawn starts the program in the directory it is given") {
  TempDir dir;
  SpawnOptions o;
  o.directory = dir.path();
  CHECK(run({"/bin/pwd"}, o).out == dir.path() + "\n");
  o.directory = "/nonexistent/dashctl-test-dir";
  CHECK(spawn({"/bin/pwd"}, o).error == ENOENT);
}

TEST_CASE("spawn keeps our capabilities from the program when told to") {
  // Root (the lab, CI) can put CAP_NET_ADMIN in its inheritable set, which a program would
  // otherwise keep; elsewhere the set is empty to start with, and only the end is checked.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  REQUIRE(::syscall(SYS_capget, &header, data) == 0);
  data[CAP_NET_ADMIN / 32].inheritable |= 1u << (CAP_NET_ADMIN % 32);
  if (::syscall(SYS_capset, &header, data) == 0) {
    const auto inherited = run({"/bin/cat", "/proc/self/status"}).out;
    CHECK(status_field(inherited, "CapInh") != "0000000000000000");
  } else {
    WARN("cannot raise CAP_NET_ADMIN (not root): checking only that none is inherited");
  }
  SpawnOptions o;
  o.no_capabilities = true;
  const auto status = run({"/bin/cat", "/proc/self/status"}, o).out;
  CHECK(status_field(status, "CapInh") == "0000000000000000");
  CHECK(status_field(status, "CapAmb") == "0000000000000000");
}
