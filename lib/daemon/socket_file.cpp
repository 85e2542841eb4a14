// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/socket_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "util/error.h"
#include "util/fs.h"

namespace dashctl::daemon {

using util::Error;
using util::Exit;

namespace {

/// Where a socket of this user's is safe: systemd's or the login session's runtime directory.
std::string safe_place() {
  if (const char* rt = std::getenv("XDG_RUNTIME_DIR"); rt && *rt == '/') return std::string(rt) + "/dashctl";
  return "/run/dashctl (as root, or systemd's RuntimeDirectory=dashctl)";
}

}  // namespace

void prepare_socket_dir(const std::string& path, const std::string& key) {
  const std::string dir = util::dirname_of(path);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    const int err = errno;
    throw Error(err == EACCES ? Exit::no_perm : Exit::cant_create,
                "creating " + dir + " for " + key + ": " + util::errno_text(err),
                "set " + key + " to a place this user can write, such as " + safe_place());
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    throw Error(Exit::cant_create, "reading " + dir + " for " + key + ": " + util::errno_text(errno));
  const uid_t me = ::geteuid();
  std::string why;
  if (st.st_uid != me && st.st_uid != 0)
    why = "belongs to another user (uid " + std::to_string(st.st_uid) + ")";
  else if (st.st_mode & S_IWOTH)
    why = (st.st_mode & S_ISVTX) ? "is writable by everyone (sticky or not)" : "is writable by everyone";
  if (!why.empty())
    throw Error(Exit::no_perm,
                key + ": " + dir + " " + why + ", who could replace the socket and hear or answer for the daemon",
                "set " + key + " in a directory of this user's only, such as " + safe_place());
}

void claim_socket_path(const std::string& path, const std::string& key, const std::string& what,
                       const std::function<bool(const std::string&)>& live) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode)) throw Error(Exit::cant_create, path + " exists and is not a socket", "set " + key + " elsewhere");
  if (live(path))
    throw Error(Exit::unavailable, "another 'dashctl run' " + what + " on " + path,
                "stop it, or give this one its own " + key);
  ::unlink(path.c_str());  // left by a daemon that died
}

BoundSocketFile::BoundSocketFile(std::string path) : path_(std::move(path)) {
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  } else {
    path_.clear();
  }
}

void BoundSocketFile::remove() const {
  if (path_.empty()) return;
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) ::unlink(path_.c_str());
}

}  // namespace dashctl::daemon
