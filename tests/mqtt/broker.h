// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A real mosquitto for a test, on 127.0.0.1 and a free port, ended by pid however the test
// ends; a second MQTT client (libmosquitto on a thread of its own) that watches it; and a
// certificate for a broker with TLS.

#include <arpa/inet.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/catch.h"
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/tmpdir.h"

extern char** environ;

namespace dashctl::test {

using namespace std::chrono_literals;

/// Polls (bounded) until `f` holds.
template <class F>
bool eventually(F f, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!f()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

inline sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/// A port nobody listens on now: bound to port 0, read back, closed.
inline uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  REQUIRE(ok);
  return ntohs(a.sin_port);
}

/// Starts a program with its output on /dev/null; returns its pid.
inline pid_t spawn_quietly(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t files;
  ::posix_spawn_file_actions_init(&files);
  ::posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0);
  ::posix_spawn_file_actions_adddup2(&files, 1, 2);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &files, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&files);
  REQUIRE(rc == 0);
  return pid;
}

/// Runs a program to its end (bounded); returns its wait status.
inline int run_quietly(std::vector<std::string> argv) {
  const pid_t pid = spawn_quietly(std::move(argv));
  int status = -1;
  REQUIRE(eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 60s));
  return status;
}

/// A self-signed certificate for the host name `name` and its key, made by openssl(1). It is
/// its own CA: a client trusts it through SSL_CERT_FILE.
struct Certificate {
  std::string cert, key;
};

inline Certificate make_certificate(const TempDir& dir, const std::string& name) {
  Certificate c{dir / (name + ".pem"), dir / (name + ".key")};
  REQUIRE(run_quietly({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
                       "-days", "1", "-addext", "subjectAltName=DNS:" + name, "-keyout", c.key, "-out", c.cert}) == 0);
  return c;
}

inline bool accepting(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const sockaddr_in a = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

class Broker {
 public:
  static constexpr const char* program = "/usr/sbin/mosquitto";

  /// Writes the config, with `extra` lines, and starts the broker unless `running` is false.
  explicit Broker(bool running = true, const std::string& extra = "allow_anonymous true\n") : port_(free_port()) {
    INFO("mosquitto is not installed (see scripts/bootstrap)");
    REQUIRE(std::filesystem::exists(program));
    std::ostringstream conf;
    conf << "listener " << port_ << " 127.0.0.1\n"
         << extra << "persistence false\n"
         << "log_dest file " << dir_ / "mosquitto.log" << "\n"
         << "log_type all\n";
    // As root mosquitto switches to the user `mosquitto`, which cannot write our 0700
    // directory; staying root is fine for a broker on loopback that lives for one test.
    if (::geteuid() == 0) conf << "user root\n";
    conf_ = dir_.write("mosquitto.conf", conf.str());
    if (running) start();
  }
  ~Broker() { stop(); }
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  uint16_t port() const { return port_; }
  const TempDir& dir() const { return dir_; }

  /// Starts it (again, on the same port) and waits, bounded, until it accepts connections.
  void start() {
    REQUIRE(pid_ <= 0);
    // It logs to its file; on stderr it would only warn that it runs as root.
    pid_ = spawn_quietly({program, "-c", conf_});
    const bool up = eventually([&] { return exited() || accepting(port_); });
    INFO(log());
    REQUIRE((up && pid_ > 0));
  }

  /// Ends it (`sig`, then SIGKILL) and reaps it; bounded.
  void stop(int sig = SIGTERM) {
    if (pid_ <= 0) return;
    // Only our own unreaped child is signalled: its pid cannot have been reused.
    if (::waitpid(pid_, nullptr, WNOHANG) == 0) {
      ::kill(pid_, sig);
      if (!eventually([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 3s)) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);  // SIGKILL cannot be ignored
      }
    }
    pid_ = -1;
  }

  /// Freezes it (SIGSTOP): connections stay open, nothing is answered.
  void freeze() {
    REQUIRE(pid_ > 0);
    ::kill(pid_, SIGSTOP);
  }

  std::string log() const {
    std::ifstream in(dir_ / "mosquitto.log");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  bool exited() {
    if (pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == pid_) pid_ = -1;
    return pid_ <= 0;
  }

  TempDir dir_;
  uint16_t port_;
  std::string conf_;
  pid_t pid_ = -1;
};

struct Received {
  std::string topic, payload;
  bool retained = false;
};

/// A second client that subscribes to `filter` and records what arrives.
class Observer {
 public:
  Observer(uint16_t port, const std::string& filter) {
    static const int init = mosquitto_lib_init();
    (void)init;
    mosq_ = mosquitto_new(nullptr, true, this);
    REQUIRE(mosq_);
    mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* obj, int, int, const int*) {
      auto* self = static_cast<Observer*>(obj);
      std::lock_guard lock(self->mutex_);
      self->subscribed_ = true;
    });
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* obj, const mosquitto_message* m) {
      auto* self = static_cast<Observer*>(obj);
      std::lock_guard lock(self->mutex_);
      self->received_.push_back(
          {m->topic, std::string(static_cast<const char*>(m->payload), size_t(m->payloadlen)), m->retain});
    });
    REQUIRE(mosquitto_connect(mosq_, "127.0.0.1", port, 60) == MOSQ_ERR_SUCCESS);
    REQUIRE(mosquitto_subscribe(mosq_, nullptr, filter.c_str(), 1) == MOSQ_ERR_SUCCESS);
    REQUIRE(mosquitto_loop_start(mosq_) == MOSQ_ERR_SUCCESS);
    REQUIRE(eventually([&] {
      std::lock_guard lock(mutex_);
      return subscribed_;
    }));
  }
  ~Observer() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);  // the thread ends after the disconnect
    mosquitto_destroy(mosq_);
  }
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;

  std::vector<Received> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  size_t count() const {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  /// Payloads received on `topic`, in order.
  std::vector<std::string> payloads(const std::string& topic) const {
    std::vector<std::string> out;
    for (const auto& r : received())
      if (r.topic == topic) out.push_back(r.payload);
    return out;
  }

  void publish(const std::string& topic, const std::string& payload) { REQUIRE(send(topic, payload)); }
  /// publish() without an assertion, for a thread of the test's own (Catch's are not thread-safe).
  bool send(const std::string& topic, const std::string& payload) {
    return mosquitto_publish(mosq_, nullptr, topic.c_str(), int(payload.size()), payload.data(), 1, false) ==
           MOSQ_ERR_SUCCESS;
  }

 private:
  mosquitto* mosq_ = nullptr;
  mutable std::mutex mutex_;
  bool subscribed_ = false;
  std::vector<Received> received_;
};

}  // namespace dashctl::test
