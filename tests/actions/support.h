// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// What the action tests share: a press event, spdlog's output captured in memory, the
// event loop run within a bound, and the environment changed for one test.

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actions/actions.h"

namespace dashctl::test {

using namespace std::chrono_literals;

/// A press of "bedroom", the 42nd, with every field set.
inline press::Press press_event() {
  press::Press p;
  p.button = "bedroom";
  p.first.mac = util::Mac::parse("68:54:fd:12:34:56");
  p.first.ip = *util::Ipv4::parse("10.77.0.201");
  p.first.source = press::Source::dhcp;
  p.first.time = press::Clock::now();
  p.first.wall = std::chrono::system_clock::now();
  p.number = 42;
  return p;
}

/// Keeps the message of every record logged.
class CaptureSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

/// Sends spdlog's default logger into memory while it lives.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<CaptureSink>()), previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  /// The messages that start with `prefix`, in order.
  std::vector<std::string> lines(const std::string& prefix = "") const {
    std::vector<std::string> out;
    for (auto& l : sink_->lines())
      if (l.starts_with(prefix)) out.push_back(l);
    return out;
  }

 private:
  std::shared_ptr<CaptureSink> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

/// Runs the loop until `done()` or `limit`; returns done().
template <typename Pred>
bool run_until(boost::asio::io_context& io, Pred done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(10ms);
    if (io.stopped()) {  // out of work: nothing can change any more
      io.restart();
      break;
    }
  }
  return done();
}

/// True when this process has no child left, reaped or not.
inline bool no_children() {
  errno = 0;
  return ::waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

/// Sets (or, with nullopt, removes) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
    if (const char* old = ::getenv(name_.c_str())) old_ = old;
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace dashctl::test
