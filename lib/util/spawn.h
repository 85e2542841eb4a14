// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Starting a program with posix_spawn, the one way dashctl starts one (exec actions, dnsmasq
// --test, systemctl, the reload command, dnsmasq itself): argv only, never a shell; the
// signal mask and dispositions reset, since the caller may block or ignore signals (a daemon
// with a signalfd); in a process group or session of its own. Each caller says only what
// differs: where stdin, stdout and stderr go, the environment, the program's path.

#include <sys/types.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace dashctl::util {

/// What a program started by spawn() gets besides its argv.
struct SpawnOptions {
  static constexpr int kNullDevice = -1;
  /// The program's stdin, stdout and stderr: a descriptor of ours (dup2'ed, so one opened
  /// with O_CLOEXEC will do), or kNullDevice for /dev/null.
  std::array<int, 3> stdio{kNullDevice, kNullDevice, kNullDevice};
  /// Its environment, "NAME=value" each; nullopt: ours.
  std::optional<std::vector<std::string>> env;
  /// The file to run, as it is; empty: argv[0], looked up in $PATH when it has no '/'.
  std::string program;
  /// Its working directory; empty: ours.
  std::string directory;
  /// A session of its own (a daemon, free of our terminal) rather than only a process group:
  /// either way, its process group's id is its pid, so that a timeout can kill what it started.
  bool new_session = false;
  /// Every descriptor above 2 closed in it, those without O_CLOEXEC too (Asio opens its
  /// sockets without).
  bool close_other_fds = false;
  /// It inherits none of our capabilities. This empties our own ambient and inheritable sets
  /// (util::keep_capabilities_from_children), so every program started later gets none either.
  bool no_capabilities = false;
};

/// A program started by spawn(), or the error that kept it from starting.
struct Spawned {
  pid_t pid = -1;
  /// posix_spawn's errno: glibc reports the exec's own (ENOENT, EACCES, ENOEXEC) and reaps
  /// the failed child itself.
  int error = 0;
  explicit operator bool() const { return error == 0; }
};

/// Starts `argv`. The caller words the error (Spawned::error), waits for the program and reaps it.
Spawned spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});

}  // namespace dashctl::util
