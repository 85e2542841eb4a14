// SPDX-License-Identifier: GPL-2.0-or-later
#include "util/error.h"

#include <cerrno>
#include <cstring>

namespace dashctl::util {

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns the message, which may or may not live in buf.
  return ::strerror_r(err, buf, sizeof buf);
}

void throw_system(const std::string& what, int err, Exit otherwise) {
  const Exit code = (err == EPERM || err == EACCES) ? Exit::no_perm : otherwise;
  throw Error(code, what + ": " + errno_text(err));
}

}  // namespace dashctl::util
