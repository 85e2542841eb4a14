// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// RAII for the C interfaces several libraries use: an owned file descriptor and a deleter
// for C libraries' free functions.

#include <unistd.h>

#include <utility>

namespace dashctl::util {

/// An owned file descriptor, closed on scope exit.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  /// Gives up ownership without closing.
  int release() { return std::exchange(fd_, -1); }
  /// Closes what it holds and takes `fd`.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/// A unique_ptr deleter calling a C library's free function:
/// std::unique_ptr<nl_sock, Deleter<nl_socket_free>>.
template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const { Free(p); }
};

}  // namespace dashctl::util
