// SPDX-License-Identifier: GPL-2.0-or-later
#include "actions/actions.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "util/duration.h"
#include "util/error.h"
#include "util/posix.h"
#include "util/spawn.h"

extern char** environ;

namespace dashctl::actions {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr size_t kMaxLines = 100;        // of output logged per run
constexpr size_t kMaxBytes = 64 * 1024;  // of output logged per run
constexpr auto kKillAfter = 2s;          // from SIGTERM to SIGKILL
// How long the pipes may stay open once the program has exited: a background child it
// started may hold them, and the action is over when the program is.
constexpr auto kDrainGrace = 100ms;
constexpr auto kExitPoll = 50ms;  // only without pidfd_open



/// A pidfd (readable once the process has exited), or -1.
int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

std::string signal_name(int sig) {
  if (const char* abbrev = ::sigabbrev_np(sig)) return std::string("SIG") + abbrev;
  return "signal " + std::to_string(sig);
}

/// The daemon's environment with the event's variables, which replace inherited ones.
std::vector<std::string> environment(const press::Press& event) {
  const std::vector<std::string> ours{
      "DASHCTL_BUTTON=" + event.button,
      "DASHCTL_MAC=" + (event.first.mac ? event.first.mac->str() : std::string()),
      "DASHCTL_IP=" + event.first.ip.str(),
      "DASHCTL_SOURCE=" + std::string(press::source_name(event.first.source)),
      "DASHCTL_COUNT=" + std::to_string(event.number),
  };
  std::vector<std::string> env;
  for (char** p = environ; p && *p; ++p) {
    const std::string_view entry(*p);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    const auto name = entry.substr(0, eq + 1);
    if (std::none_of(ours.begin(), ours.end(), [&](const std::string& o) { return o.starts_with(name); }))
      env.emplace_back(entry);
  }
  env.insert(env.end(), ours.begin(), ours.end());
  return env;
}

/// The program's stdout and stderr, logged line by line within a budget per run.
class OutputLog {
 public:
  explicit OutputLog(std::string button) : button_(std::move(button)) {}

  /// Takes what stream `i` (0 stdout, 1 stderr) delivered.
  void feed(size_t i, std::string_view data) {
    if (truncated_ || data.empty()) return;  // still read, and dropped: a full pipe would block the program
    const size_t take = std::min(data.size(), kMaxBytes - bytes_);
    bytes_ += take;
    std::string& pending = pending_[i];
    pending.append(data.substr(0, take));
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
      if (!log(std::string_view(pending).substr(start, nl - start))) return;
    pending.erase(0, start);
    if (take < data.size()) {  // the byte budget is spent
      if (!pending.empty() && !log(pending)) return;
      truncate();
    }
  }

  /// Stream `i` ended: its last line may lack a newline.
  void finish(size_t i) {
    if (!truncated_ && !pending_[i].empty()) log(pending_[i]);
    pending_[i].clear();
  }

 private:
  /// Logs a line, or says there is no room for it.
  bool log(std::string_view line) {
    if (lines_ == kMaxLines) {
      truncate();
      return false;
    }
    ++lines_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    spdlog::info("exec[{}]: {}", button_, line);
    return true;
  }

  void truncate() {
    truncated_ = true;
    for (auto& p : pending_) p.clear();
    spdlog::info("exec[{}]: output truncated", button_);
  }

  std::string button_;
  std::array<std::string, 2> pending_;
  size_t bytes_ = 0, lines_ = 0;
  bool truncated_ = false;
};

/// One run of a program, from spawn to reaping. Its handlers hold it alive.
class Run : public std::enable_shared_from_this<Run> {
 public:
  Run(asio::io_context& io, const std::string& button, std::chrono::milliseconds timeout, Done done)
      : io_(io),
        timeout_(timeout),
        done_(std::move(done)),
        started_(Clock::now()),
        output_(button),
        pipes_{asio::posix::stream_descriptor(io), asio::posix::stream_descriptor(io)},
        pidfd_(io),
        exit_poll_(io),
        deadline_(io),
        kill_timer_(io),
        drain_timer_(io) {}

  ~Run() {
    // Only when the loop goes away with the program still running: it must neither
    // outlive the daemon unnoticed nor stay a zombie. Bounded, like every wait.
    if (pid_ > 0 && !reaped_) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      for (int i = 0; i < 100 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i) ::usleep(10'000);
    }
  }

  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  /// Starts the program; when it cannot start, `done` learns why (on the loop).
  void start(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    std::optional<std::string> failure;
    try {
      failure = spawn(argv, env);
      if (!failure) watch();
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (failure)
      asio::post(io_, [self = shared_from_this(), why = *failure] { self->finish(Outcome{false, why, {}}); });
  }

 private:
  /// Spawns the program; returns why it could not.
  std::optional<std::string> spawn(const std::vector<std::string>& argv,
                                   const std::vector<std::string>& env) {
    if (argv.empty() || argv[0].empty()) return "no program to run";
    // O_CLOEXEC everywhere: another action spawned meanwhile must not inherit these pipes,
    // or this program's output would not end when it does.
    std::array<util::Fd, 2> read_ends, write_ends;
    for (size_t i = 0; i < 2; ++i) {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) return "creating a pipe: " + util::errno_text(errno);
      read_ends[i].reset(fds[0]);
      write_ends[i].reset(fds[1]);
    }
    util::SpawnOptions o;
    o.stdio = {util::SpawnOptions::kNullDevice, write_ends[0].get(), write_ends[1].get()};
    o.env = env;
    // As it is, never looked up in $PATH: the config requires an absolute path.
    o.program = argv[0];
    // The daemon's sockets (Asio opens them without O_CLOEXEC) are none of the program's business.
    o.close_other_fds = true;
    // A daemon given CAP_NET_ADMIN for the nflog source keeps it from the programs it runs.
    o.no_capabilities = true;
    // Its own process group (spawn's default) lets the timeout reach whatever it starts as well.
    const auto started = util::spawn(argv, o);
    if (!started) return "cannot run " + argv[0] + ": " + util::errno_text(started.error);
    pid_ = started.pid;
    for (size_t i = 0; i < 2; ++i) pipes_[i].assign(read_ends[i].release());
    if (const int fd = open_pidfd(pid_); fd >= 0) pidfd_.assign(fd);
    return std::nullopt;
  }

  void watch() {
    for (size_t i = 0; i < 2; ++i) read(i);
    watch_exit();
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->on_timeout();
    });
  }

  void read(size_t i) {
    pipes_[i].async_read_some(asio::buffer(buffers_[i]),
                              [self = shared_from_this(), i](const error_code& ec, size_t n) {
                                self->output_.feed(i, std::string_view(self->buffers_[i].data(), n));
                                if (ec || self->drained_) {
                                  self->eof_[i] = true;
                                  self->output_.finish(i);
                                  self->maybe_finish();
                                  return;
                                }
                                self->read(i);
                              });
  }

  /// Calls on_exit() once the program has exited, without reaping it and without blocking.
  void watch_exit() {
    if (pidfd_.is_open()) {
      pidfd_.async_wait(asio::posix::stream_descriptor::wait_read,
                        [self = shared_from_this()](const error_code& ec) {
                          if (ec == asio::error::operation_aborted) return;
                          if (ec) {
                            error_code ignored;
                            self->pidfd_.close(ignored);  // the polling below takes over
                            return self->watch_exit();
                          }
                          self->on_exit();
                        });
      return;
    }
    // Without pidfd_open (Linux before 5.3, a seccomp filter): look now and then.
    exit_poll_.expires_after(kExitPoll);
    exit_poll_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec) return;
      siginfo_t info{};
      const int r = ::waitid(P_PID, static_cast<id_t>(self->pid_), &info, WEXITED | WNOHANG | WNOWAIT);
      if (r == 0 && info.si_pid == 0) return self->watch_exit();
      self->on_exit();
    });
  }

  void on_timeout() {
    if (reaped_) return;
    timed_out_ = true;
    signal(SIGTERM);
    kill_timer_.expires_after(kKillAfter);
    kill_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec || self->reaped_ || self->killed_) return;
      self->killed_ = true;
      self->signal(SIGKILL);
    });
  }

  /// Signals the program's process group, and the program should it have left it. Only
  /// before reaping: until then its pid (and so its group's id) cannot be anyone else's.
  void signal(int sig) {
    ::kill(-pid_, sig);
    ::kill(pid_, sig);
  }

  void on_exit() {
    // After a timeout, what is left of the group goes as soon as the program has, while
    // its zombie still holds the group's id.
    if (timed_out_ && !killed_) {
      killed_ = true;
      signal(SIGKILL);
    }
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0) return watch_exit();
    reaped_ = true;
    if (r == pid_) {
      status_ = status;
    } else {
      lost_ = true;  // reaped by someone else's waitpid(-1)
    }
    deadline_.cancel();
    kill_timer_.cancel();
    error_code ignored;
    pidfd_.close(ignored);
    if (!eof_[0] || !eof_[1]) {
      drain_timer_.expires_after(kDrainGrace);
      drain_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (ec) return;
        self->drained_ = true;
        error_code ignored_too;
        for (auto& p : self->pipes_) p.cancel(ignored_too);
      });
    }
    maybe_finish();
  }

  void maybe_finish() {
    if (!reaped_ || !eof_[0] || !eof_[1]) return;
    drain_timer_.cancel();
    Outcome o;
    if (lost_) {
      o.summary = "exit status unknown (reaped elsewhere)";
    } else if (timed_out_) {
      o.summary = "killed after " + util::format_duration(timeout_) + " timeout";
    } else if (WIFEXITED(status_)) {
      o.ok = WEXITSTATUS(status_) == 0;
      o.summary = "exit " + std::to_string(WEXITSTATUS(status_));
    } else if (WIFSIGNALED(status_)) {
      o.summary = "killed by " + signal_name(WTERMSIG(status_));
    } else {
      o.summary = "wait status " + std::to_string(status_);
    }
    finish(o);
  }

  void finish(Outcome o) {
    if (finished_) return;
    finished_ = true;
    error_code ignored;
    for (auto& p : pipes_) p.close(ignored);
    o.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_);
    Done done = std::move(done_);
    // An Asio handler lets no exception escape.
    try {
      done(o);
    } catch (const std::exception& e) {
      spdlog::error("exec: after the action: {}", e.what());
    }
  }

  asio::io_context& io_;
  std::chrono::milliseconds timeout_;
  Done done_;
  Clock::time_point started_;
  OutputLog output_;
  std::array<asio::posix::stream_descriptor, 2> pipes_;  ///< stdout, stderr
  std::array<std::array<char, 4096>, 2> buffers_{};
  std::array<bool, 2> eof_{};
  asio::posix::stream_descriptor pidfd_;
  asio::steady_timer exit_poll_, deadline_, kill_timer_, drain_timer_;
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false, lost_ = false, timed_out_ = false, killed_ = false, drained_ = false;
  bool finished_ = false;
};

}  // namespace

void run_exec(asio::io_context& io, const config::ExecAction& a, const press::Press& p, Done done) {
  std::vector<std::string> argv;
  argv.reserve(a.argv.size());
  for (const auto& arg : a.argv) argv.push_back(render(arg, p));
  std::make_shared<Run>(io, p.button, a.timeout, std::move(done))->start(argv, environment(p));
}

}  // namespace dashctl::actions
