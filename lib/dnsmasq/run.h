// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Running a helper program (dnsmasq --test, systemctl, the configured reload command):
// argv only, never a shell, with a deadline. Kept here until a second library needs it;
// then it moves to util.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dashctl::dnsmasq {

/// How a program run by run() ended.
struct RunResult {
  int exit_status = -1;                 ///< its exit status, or -1 when a signal ended it
  int signal = 0;                       ///< the signal that ended it, or 0
  bool timed_out = false;               ///< it outlived the deadline and was killed
  std::chrono::milliseconds timeout{};  ///< the deadline it was given
  std::string errors;                   ///< what it wrote to stderr (the first 64 KiB)

  bool ok() const { return !timed_out && exit_status == 0; }
  /// The first non-empty line of `errors`, or "".
  std::string first_error_line() const;
  /// Why it failed, for a message: "exit status 1: <first error line>", "timed out after 10 s".
  std::string why() const;
};

/// Runs argv (argv[0] looked up in PATH when it has no '/') with stdin and stdout on
/// /dev/null, captures stderr, and waits at most `timeout`; then kills it (and its
/// process group) and says so. Throws util::Error (Exit::unavailable) when the program
/// cannot be started at all.
RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

/// The full path of `name` in $PATH, or nullopt.
std::optional<std::string> find_program(std::string_view name);

/// argv as one line for messages, words with spaces or quotes in single quotes.
std::string display(const std::vector<std::string>& argv);

}  // namespace dashctl::dnsmasq
