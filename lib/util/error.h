// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The one error type of the project. Library code throws it for failures; expected
// outcomes (an unknown button, a bad MAC) are returned as values instead. Only
// cmd/main.cpp turns an Error into a message and an exit code.

#include <stdexcept>
#include <string>

namespace dashctl::util {

/// Process exit codes, after sysexits(3).
enum class Exit : int {
  ok = 0,
  usage = 64,        ///< EX_USAGE: the command line is wrong
  data = 65,         ///< EX_DATAERR: bad config or input data
  no_input = 66,     ///< EX_NOINPUT: an input file (the config) does not exist
  unavailable = 69,  ///< EX_UNAVAILABLE: interface, dnsmasq or daemon missing
  software = 70,     ///< EX_SOFTWARE: internal error
  os = 71,           ///< EX_OSERR: a system call or netlink failed
  cant_create = 73,  ///< EX_CANTCREAT: cannot write an output file
  temp_fail = 75,    ///< EX_TEMPFAIL: try again (a timeout, a lock held too long)
  protocol = 76,     ///< EX_PROTOCOL: a peer answered, but not as it should (a button's setup page)
  no_perm = 77,      ///< EX_NOPERM: needs root or CAP_NET_ADMIN, or a file is not ours
};

class Error : public std::runtime_error {
 public:
  Error(Exit code, const std::string& message, std::string hint = {})
      : std::runtime_error(message), code_(code), hint_(std::move(hint)) {}

  Exit code() const noexcept { return code_; }
  /// A suggestion shown on its own line after the error, or empty.
  const std::string& hint() const noexcept { return hint_; }

 private:
  Exit code_;
  std::string hint_;
};

/// Throws an Error "<what>: <strerror(err)>". EPERM and EACCES map to Exit::no_perm,
/// everything else to `otherwise`.
[[noreturn]] void throw_system(const std::string& what, int err, Exit otherwise = Exit::os);

/// strerror(3) without its thread-safety problems.
std::string errno_text(int err);

}  // namespace dashctl::util
