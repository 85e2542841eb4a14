// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The daemon's socket files (the control socket, the event socket): in a directory nobody
// else can write to, never taken from a live daemon, and removed at exit only if they are
// still the ones this daemon bound.

#include <sys/types.h>

#include <functional>
#include <string>

namespace dashctl::daemon {

/// Makes the directory of the socket at `path` (0755, its parent must exist) when missing,
/// and refuses one another user (not root) owns, or that others can write to (sticky /tmp
/// included): they could replace the socket and take what the daemon says or answer for it.
/// `key` names the setting ("daemon.control_socket"). Throws util::Error (no_perm, cant_create).
void prepare_socket_dir(const std::string& path, const std::string& key);

/// Before binding `path`: a file there that is no socket is refused (cant_create); a socket a
/// live daemon uses (`live(path)`) is refused (unavailable, "another 'dashctl run' ... on PATH");
/// one a dead daemon left is removed.
void claim_socket_path(const std::string& path, const std::string& key, const std::string& what,
                       const std::function<bool(const std::string&)>& live);

/// The socket file this daemon bound, to remove at exit only while it is still that file:
/// another daemon may have replaced it since.
class BoundSocketFile {
 public:
  BoundSocketFile() = default;
  explicit BoundSocketFile(std::string path);  ///< remembers the file at `path` now
  void remove() const;

 private:
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace dashctl::daemon
