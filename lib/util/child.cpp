// SPDX-License-Identifier: GPL-2.0-or-later
#include "util/child.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <exception>

#include "util/posix.h"

namespace dashctl::util {

std::optional<ChildResult> run_in_child(const std::function<int()>& work) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return std::nullopt;
  Fd from_child(ends[0]), to_parent(ends[1]);
  const pid_t pid = ::fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    int code = 70;
    try {
      code = work();
    } catch (const std::exception& e) {
      const std::string what = e.what();
      [[maybe_unused]] auto n = ::write(to_parent.get(), what.data(), what.size());
    } catch (...) {
    }
    ::_exit(code);
  }
  to_parent.reset();
  ChildResult r;
  char buf[512];
  for (ssize_t n; (n = ::read(from_child.get(), buf, sizeof buf)) != 0;) {
    if (n > 0)
      r.what.append(buf, static_cast<size_t>(n));
    else if (errno != EINTR)
      break;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace dashctl::util
