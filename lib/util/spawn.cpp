// SPDX-License-Identifier: GPL-2.0-or-later
#include "util/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

#include <cerrno>

#include "util/caps.h"

extern char** environ;

namespace dashctl::util {
namespace {

/// posix_spawn's two attribute objects, initialised and destroyed with the scope.
struct SpawnAttributes {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnAttributes() {
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawnattr_init(&attr);
  }
  ~SpawnAttributes() {
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
};

/// The file actions and attributes `o` asks for; the first error, or 0.
int prepare(SpawnAttributes& s, const SpawnOptions& o) {
  for (int fd = 0; fd <= 2; ++fd) {
    const int from = o.stdio[static_cast<size_t>(fd)];
    const int err = from == SpawnOptions::kNullDevice
                        ? ::posix_spawn_file_actions_addopen(&s.actions, fd, "/dev/null",
                                                             fd == 0 ? O_RDONLY : O_WRONLY, 0)
                        : ::posix_spawn_file_actions_adddup2(&s.actions, from, fd);
    if (err != 0) return err;
  }
  if (o.close_other_fds)
    if (const int err = ::posix_spawn_file_actions_addclosefrom_np(&s.actions, 3)) return err;
  if (!o.directory.empty())
    if (const int err = ::posix_spawn_file_actions_addchdir_np(&s.actions, o.directory.c_str())) return err;
  // The caller may block or ignore signals; the program starts with a clean slate.
  sigset_t none, all;
  ::sigemptyset(&none);
  ::sigfillset(&all);
  ::posix_spawnattr_setsigmask(&s.attr, &none);
  ::posix_spawnattr_setsigdefault(&s.attr, &all);
  int flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (o.new_session) {
    flags |= POSIX_SPAWN_SETSID;  // a new session is a new process group as well
  } else {
    ::posix_spawnattr_setpgroup(&s.attr, 0);
    flags |= POSIX_SPAWN_SETPGROUP;
  }
  return ::posix_spawnattr_setflags(&s.attr, static_cast<short>(flags));
}

std::vector<char*> pointers(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

Spawned spawn(const std::vector<std::string>& argv, const SpawnOptions& o) {
  if (argv.empty() || (argv[0].empty() && o.program.empty())) return {-1, EINVAL};
  SpawnAttributes s;
  if (const int err = prepare(s, o)) return {-1, err};
  if (o.no_capabilities) keep_capabilities_from_children();
  const auto args = pointers(argv);
  std::vector<char*> env;
  if (o.env) env = pointers(*o.env);
  char* const* envp = o.env ? env.data() : environ;
  pid_t pid = -1;
  const int err = o.program.empty()
                      ? ::posix_spawnp(&pid, argv[0].c_str(), &s.actions, &s.attr, args.data(), envp)
                      : ::posix_spawn(&pid, o.program.c_str(), &s.actions, &s.attr, args.data(), envp);
  if (err != 0) return {-1, err};
  return {pid, 0};
}

}  // namespace dashctl::util
