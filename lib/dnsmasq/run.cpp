// SPDX-License-Identifier: GPL-2.0-or-later
#include "dnsmasq/run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "util/error.h"
#include "util/posix.h"
#include "util/spawn.h"

namespace dashctl::dnsmasq {
namespace {

using namespace std::chrono_literals;
using util::Error;
using util::Exit;

constexpr size_t kMaxErrors = 64 * 1024;



/// Reads what is in the pipe now, keeping at most kMaxErrors bytes. Returns false at
/// end of file. The rest is read and dropped so a chatty child never blocks on a full pipe.
bool read_available(int fd, std::string& out) {
  char buf[4096];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  const size_t room = kMaxErrors - std::min(out.size(), kMaxErrors);
  out.append(buf, std::min(room, static_cast<size_t>(n)));
  return true;
}

std::string seconds_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

}  // namespace

std::string RunResult::first_error_line() const {
  size_t start = 0;
  while (start < errors.size()) {
    size_t end = errors.find('\n', start);
    if (end == std::string::npos) end = errors.size();
    std::string line = errors.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) return line;
    start = end + 1;
  }
  return {};
}

std::string RunResult::why() const {
  std::string text;
  if (timed_out) {
    text = "timed out after " + seconds_text(timeout);
  } else if (signal != 0) {
    text = "killed by signal " + std::to_string(signal);
  } else {
    text = "exit status " + std::to_string(exit_status);
  }
  if (const auto line = first_error_line(); !line.empty()) text += ": " + line;
  return text;
}

RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  if (argv.empty()) throw Error(Exit::software, "run: an empty command");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) util::throw_system("creating a pipe", errno);
  util::Fd read_end(fds[0]), write_end(fds[1]);
  // Non-blocking on our side only: the child's stderr must stay an ordinary blocking fd.
  ::fcntl(read_end.get(), F_SETFL, ::fcntl(read_end.get(), F_GETFL) | O_NONBLOCK);

  util::SpawnOptions o;
  o.stdio = {util::SpawnOptions::kNullDevice, util::SpawnOptions::kNullDevice, write_end.get()};
  // Its own process group (spawn's default) lets a timeout kill what it started too.
  const auto child = util::spawn(argv, o);
  if (!child) util::throw_system("running " + argv[0], child.error, Exit::unavailable);
  const pid_t pid = child.pid;
  write_end.reset();

  RunResult result;
  result.timeout = timeout;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool eof = false;
  int status = 0;
  // Each pass waits at most 50 ms: a child may hand its stderr to a grandchild that
  // outlives it, so the end of the pipe alone does not say that the child has exited.
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) util::throw_system("waiting for " + argv[0], errno);
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);  // in case it left the group
      result.timed_out = true;
      // Bounded too: a process stuck in the kernel (an NFS hang) may not die at once.
      for (int i = 0; i < 200; ++i) {
        if (::waitpid(pid, &status, WNOHANG) == pid) break;
        ::usleep(10'000);
      }
      break;
    }
    // Once the pipe is closed, only the exit is left to wait for, and it comes soon.
    const int slice = static_cast<int>(std::min<long>(left.count(), eof ? 1 : 50));
    pollfd p{read_end.get(), POLLIN, 0};
    const int n = ::poll(&p, eof ? 0 : 1, slice);
    if (n > 0 && !read_available(read_end.get(), result.errors)) eof = true;
  }
  // What the child wrote before exiting; bounded, as a grandchild may still be writing.
  for (int i = 0; i < 64 && !eof; ++i) {
    const size_t before = result.errors.size();
    if (!read_available(read_end.get(), result.errors)) eof = true;
    if (result.errors.size() == before) break;
  }
  if (!result.timed_out) {
    if (WIFEXITED(status)) {
      result.exit_status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result.signal = WTERMSIG(status);
    }
  }
  return result;
}

std::optional<std::string> find_program(std::string_view name) {
  const char* env = std::getenv("PATH");
  const std::string path = env && *env ? env : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    const std::string dir = path.substr(start, end - start);
    if (!dir.empty()) {
      const std::string candidate = dir + "/" + std::string(name);
      struct stat st {};
      if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
          ::access(candidate.c_str(), X_OK) == 0)
        return candidate;
    }
    start = end + 1;
  }
  return std::nullopt;
}

std::string display(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    const bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`;&|<>()*?") == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (const char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

}  // namespace dashctl::dnsmasq
