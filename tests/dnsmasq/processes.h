// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Starting and ending the processes a test needs, by pid, with every wait bounded.

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/catch.h"
#include <chrono>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace dashctl::test {

using namespace std::chrono_literals;

inline pid_t spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  REQUIRE(::posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) == 0);
  return pid;
}

/// Waits (bounded) for our child `pid` to exit; returns its wait status, or -1.
inline int reap(pid_t pid, std::chrono::milliseconds limit = 5s) {
  int status = 0;
  for (auto waited = 0ms; waited < limit; waited += 10ms) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(10ms);
  }
  return -1;
}

/// Ends a process this test started, by pid. Only an unreaped child of ours is signalled:
/// its pid cannot have been reused by another process.
inline void end(pid_t pid) {
  if (pid <= 0 || ::waitpid(pid, nullptr, WNOHANG) != 0) return;
  ::kill(pid, SIGTERM);
  if (reap(pid, 3s) == -1) {
    ::kill(pid, SIGKILL);
    reap(pid, 2s);
  }
}

/// Ends a process when the test leaves its scope, even through a failed REQUIRE.
struct Ender {
  pid_t pid;
  explicit Ender(pid_t p) : pid(p) {}
  ~Ender() { end(pid); }
  Ender(const Ender&) = delete;
  Ender& operator=(const Ender&) = delete;
};

/// Polls (bounded) until `f` holds.
template <class F>
bool eventually(F f, std::chrono::milliseconds limit = 5s) {
  for (auto waited = 0ms; waited < limit; waited += 10ms) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

/// Makes orphans of this process ours: a daemon or grandchild a test starts is
/// reparented to the test (not to an init that may never reap it), so the test can end
/// it and reap it.
struct Subreaper {
  Subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
  ~Subreaper() {
    // dnsmasq daemonizes with two forks; the middle process exits at once and, orphaned,
    // became ours. Reap such exited orphans; running ones were ended by the test.
    for (int i = 0; i < 100 && ::waitpid(-1, nullptr, WNOHANG) > 0; ++i) {
    }
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
  Subreaper(const Subreaper&) = delete;
  Subreaper& operator=(const Subreaper&) = delete;
};

}  // namespace dashctl::test
