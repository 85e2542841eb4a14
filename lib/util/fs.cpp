// SPDX-License-Identifier: GPL-2.0-or-later
#include "util/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <memory>
#include <thread>

#include "util/error.h"
#include "util/posix.h"

namespace dashctl::util {
namespace {


std::string basename_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string dirname_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void make_directories(const std::string& dir, mode_t mode, const std::string& what) {
  for (size_t at = 1; at != std::string::npos;) {
    at = dir.find('/', at + 1);
    const std::string part = dir.substr(0, at);
    if (part.empty() || part.back() == '/') continue;
    if (::mkdir(part.c_str(), mode) != 0 && errno != EEXIST) {
      const int err = errno;
      throw Error(err == EACCES ? Exit::no_perm : Exit::cant_create,
                  "creating " + part + " for " + what + ": " + errno_text(err));
    }
  }
}

namespace {

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

}  // namespace

std::optional<std::string> read_file(const std::string& path, size_t max_size) {
  // O_NONBLOCK: opening a FIFO without a writer would wait for one, forever.
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (f.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw_system("reading " + path, errno, Exit::no_input);
  }
  struct stat st {};
  if (::fstat(f.get(), &st) != 0) throw_system("reading " + path, errno, Exit::no_input);
  if (!S_ISREG(st.st_mode))
    throw Error(Exit::data, path + " is not a regular file: " + file_kind(st.st_mode));
  auto too_big = [&] {
    const std::string limit = max_size >= (1u << 20) ? std::to_string(max_size >> 20) + " MiB"
                              : max_size >= 1024    ? std::to_string(max_size >> 10) + " KiB"
                                                    : std::to_string(max_size) + " bytes";
    return Error(Exit::data, path + " is larger than " + limit + ": not read");
  };
  if (static_cast<uint64_t>(st.st_size) > max_size) throw too_big();
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(f.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_system("reading " + path, errno, Exit::no_input);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_size) throw too_big();  // it grew while read (procfs reports 0)
  }
  return out;
}

void sync_directory(const std::string& dir) {
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() < 0) throw_system("opening directory " + dir, errno, Exit::cant_create);
  if (::fsync(d.get()) != 0) throw_system("syncing directory " + dir, errno, Exit::cant_create);
}

void write_file_atomic(const std::string& path, const std::string& content, mode_t mode,
                       Replace replace) {
  const std::string dir = dirname_of(path);
  // A hidden name in the same directory: rename(2) is atomic only within a file system,
  // and loaders skip dot files, so a leftover from a crash is never read as config.
  std::string tmp = dir + "/." + basename_of(path) + ".XXXXXX";
  Fd f(::mkostemp(tmp.data(), O_CLOEXEC));
  if (f.get() < 0) throw_system("writing " + path, errno, Exit::cant_create);
  auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    throw_system(what + " " + path, err, Exit::cant_create);
  };
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(f.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("writing", errno);
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(f.get(), mode) != 0) fail("setting the mode of", errno);
  if (::fsync(f.get()) != 0) fail("syncing", errno);
  if (replace == Replace::allow) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail("replacing", errno);
  } else if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
    fail("creating", errno);
  }
  sync_directory(dir);
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir,
                                                  const std::function<bool(std::string_view)>& ours,
                                                  std::chrono::seconds age) {
  std::vector<std::string> removed;
  std::unique_ptr<DIR, Deleter<::closedir>> d(::opendir(dir.c_str()));
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR) return removed;
    throw_system("reading directory " + dir, errno, Exit::cant_create);
  }
  const auto now = std::chrono::system_clock::now();
  while (const dirent* e = ::readdir(d.get())) {
    // ".NAME.XXXXXX": mkostemp's six letters and digits after the last dot.
    const std::string_view n = e->d_name;
    if (n.size() < 9 || n[0] != '.' || n[n.size() - 7] != '.') continue;
    const std::string_view suffix = n.substr(n.size() - 6);
    if (!std::all_of(suffix.begin(), suffix.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }))
      continue;
    if (!ours(n.substr(1, n.size() - 8))) continue;
    struct stat st {};
    if (::fstatat(::dirfd(d.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    const auto modified = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    if (now - modified < age) continue;
    if (::unlinkat(::dirfd(d.get()), e->d_name, 0) != 0) {
      if (errno == ENOENT) continue;  // another setup was quicker
      throw_system("removing " + dir + "/" + std::string(n), errno, Exit::cant_create);
    }
    removed.push_back(dir + (dir.ends_with('/') ? "" : "/") + std::string(n));
  }
  if (!removed.empty()) sync_directory(dir);
  return removed;
}

void rename_no_replace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0)
    throw_system("renaming " + from + " to " + to, errno, Exit::cant_create);
  sync_directory(dirname_of(to));
}

bool remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return false;
    throw_system("removing " + path, errno, Exit::cant_create);
  }
  sync_directory(dirname_of(path));
  return true;
}

DirLock::DirLock(const std::string& dir, std::chrono::milliseconds wait) {
  fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) throw_system("locking " + dir, errno, Exit::cant_create);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  // Polling with a bounded deadline rather than a blocking flock: a wedged holder must
  // turn into a clear error, not a hang.
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK && err != EINTR) {
      ::close(fd_);
      throw_system("locking " + dir, err, Exit::cant_create);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd_);
      throw Error(Exit::temp_fail, "locking " + dir + ": another dashctl is still writing",
                  "try again in a moment");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace dashctl::util
