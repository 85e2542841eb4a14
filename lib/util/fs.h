// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// File system access that never leaves half a file behind.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dashctl::util {

/// The most read_file() reads unless told otherwise: far more than any file dashctl reads
/// (a config, a lease file, a pid file, its state), far less than a device's endless stream.
inline constexpr size_t kMaxReadSize = 16u << 20;

/// Reads a whole regular file of at most `max_size` bytes. Returns nullopt when it does not
/// exist (a dangling symlink included). Never blocks on what is no regular file: it is opened
/// with O_NONBLOCK and refused (Exit::data, "PATH is not a regular file: a FIFO"), as is a
/// file that grows past `max_size` (Exit::data); other failures are Exit::no_input.
std::optional<std::string> read_file(const std::string& path, size_t max_size = kMaxReadSize);

enum class Replace { allow, forbid };

/// Writes `content` to `path` atomically: a temporary file in the same directory,
/// fsync, rename over the target, fsync of the directory. A crash at any moment leaves
/// either the old file or the new one. With Replace::forbid an existing target is an
/// error (EEXIST) and is left alone. Throws Error (Exit::cant_create or no_perm).
void write_file_atomic(const std::string& path, const std::string& content, mode_t mode = 0644,
                       Replace replace = Replace::allow);

/// Removes the temporary files write_file_atomic leaves behind when it is killed between
/// creating one and renaming it (".NAME.XXXXXX", a regular file), for each NAME `ours`
/// accepts, once its modification time is `age` or more in the past: no writer takes that
/// long, so none is still being written. A directory that does not exist has none. Returns
/// the paths removed; throws Error (Exit::cant_create) when one cannot be removed.
std::vector<std::string> remove_stale_temporaries(const std::string& dir,
                                                  const std::function<bool(std::string_view name)>& ours,
                                                  std::chrono::seconds age = std::chrono::seconds(60));

/// Renames `from` to `to` without replacing an existing `to`, then fsyncs the directory.
void rename_no_replace(const std::string& from, const std::string& to);

/// Removes a file and fsyncs its directory. Returns false when it did not exist.
bool remove_file(const std::string& path);

/// fsync(2) of a directory, so that a rename or unlink in it is durable.
void sync_directory(const std::string& dir);

/// Creates `dir` and its missing parents with `mode` (less the umask); those that exist are
/// left as they are. Throws Error (no_perm, else cant_create) saying "creating D for `what`".
void make_directories(const std::string& dir, mode_t mode, const std::string& what);

/// The directory part of a path ("." when it has none).
std::string dirname_of(const std::string& path);

/// An exclusive advisory lock (flock) on a directory, held for the object's lifetime.
/// Every writer of the config takes it, so concurrent invocations never lose a write.
class DirLock {
 public:
  /// Waits up to `wait` for the lock; throws Error(Exit::temp_fail) when it stays taken.
  explicit DirLock(const std::string& dir,
                   std::chrono::milliseconds wait = std::chrono::seconds(10));
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace dashctl::util
