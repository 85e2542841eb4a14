// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/protocol.h"
#include "util/error.h"

namespace dashctl::daemon {

namespace {

std::optional<std::string> ask_once(const std::string& socket_path, const std::string& request,
                                    std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    throw util::Error(util::Exit::data, "control socket path too long: " + socket_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) util::throw_system("creating a unix socket", errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    // Nobody there: no daemon, or a stale socket file from one that died.
    if (errno == ENOENT || errno == ECONNREFUSED) return std::nullopt;
    util::throw_system("connecting to the daemon at " + socket_path, errno, util::Exit::unavailable);
  }
  const std::string line = request + "\n";
  int send_error = 0;
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    send_error = errno;
    // A busy daemon answers and closes before it reads: its answer may be there to read.
    if (send_error != EPIPE && send_error != ECONNRESET)
      util::throw_system("asking the daemon at " + socket_path, send_error, util::Exit::unavailable);
  }
  std::string answer;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw util::Error(util::Exit::unavailable, "the daemon at " + socket_path + " did not answer in time");
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // A daemon that closed before reading all we sent resets the connection after its answer.
      if (errno == ECONNRESET && !answer.empty() && answer.back() == '\n') break;
      if (send_error) util::throw_system("asking the daemon at " + socket_path, send_error, util::Exit::unavailable);
      util::throw_system("reading the daemon's answer", errno, util::Exit::unavailable);
    }
    if (n == 0) {
      if (send_error && answer.empty())
        util::throw_system("asking the daemon at " + socket_path, send_error, util::Exit::unavailable);
      break;
    }
    answer.append(buf, static_cast<size_t>(n));
    if (answer.size() > (1u << 22)) throw util::Error(util::Exit::unavailable, "the daemon's answer is too long");
  }
  return answer;
}

}  // namespace

std::optional<std::string> ask(const std::string& socket_path, const std::string& request,
                               std::chrono::milliseconds timeout) {
  // A busy daemon (more clients at once than it serves) is asked again a few times, briefly.
  constexpr int kTries = 5;
  for (int i = 1;; ++i) {
    auto answer = ask_once(socket_path, request, timeout);
    if (!answer) return answer;
    std::string_view line(*answer);
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (line != kAnswerBusy) return answer;
    if (i == kTries)
      throw util::Error(util::Exit::temp_fail, "the daemon at " + socket_path +
                                                   " is busy (more clients at once than it serves): try again in a moment");
    ::usleep(static_cast<useconds_t>(50000 * i));
  }
}

}  // namespace dashctl::daemon
