// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/history_keeper.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "util/error.h"
#include "util/fs.h"

namespace dashctl::daemon {

namespace asio = boost::asio;

struct HistoryKeeper::Timer {
  explicit Timer(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
};

namespace {

/// "20261203T061843Z": for the name of a file set aside.
std::string stamp() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

HistoryKeeper::HistoryKeeper(asio::io_context& io, const std::string& dir, Saved saved)
    : dir_(dir), path_(dir + "/buttons.json"), saved_(std::move(saved)), timer_(std::make_unique<Timer>(io)) {
  std::optional<std::string> text;
  try {
    text = util::read_file(path_);
  } catch (const util::Error& e) {
    problem_ = e.what();
    spdlog::error("history: {}; presses, last seen and batteries are not kept across restarts", problem_);
    return;
  }
  if (!text) return;
  try {
    book_ = history::Book(history::decode(*text));
    spdlog::info("history: {} button{} from {}", book_.records().size(), book_.records().size() == 1 ? "" : "s",
                 path_);
  } catch (const util::Error& e) {
    const std::string aside = path_ + ".bad-" + stamp();
    try {
      util::rename_no_replace(path_, aside);
      spdlog::error("history: {} is not a history dashctl can read ({}); moved aside to {}, starting anew", path_,
                    e.what(), aside);
    } catch (const util::Error& moving) {
      problem_ = std::string(e.what()) + ", and it cannot be moved aside: " + moving.what();
      spdlog::error("history: {}: {}; not kept across restarts", path_, problem_);
    }
  }
}

HistoryKeeper::~HistoryKeeper() = default;

void HistoryKeeper::changed() {
  if (!book_.dirty() || armed_) return;
  const auto now = history::WriteGate::Clock::now();
  const auto due = gate_.due(now);
  if (due <= now) {
    write();
    return;
  }
  armed_ = true;
  timer_->timer.expires_at(due);
  timer_->timer.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    armed_ = false;
    write();
  });
}

void HistoryKeeper::flush() {
  boost::system::error_code ec;
  timer_->timer.cancel(ec);
  armed_ = false;
  if (book_.dirty()) write();
}

void HistoryKeeper::write() {
  if (!book_.dirty()) return;
  gate_.wrote(history::WriteGate::Clock::now());
  if (!problem_.empty()) {
    // Not kept on disk (said at start): the state messages go out all the same, as often.
    book_.saved();
    if (saved_) saved_(book_.take_changed());
    return;
  }
  try {
    util::make_directories(dir_, 0700, "the buttons' history");
    util::write_file_atomic(path_, history::encode(book_.records()), 0600);
    book_.saved();
    ++counters_.writes;
    if (failing_) spdlog::info("history: written to {} again", path_);
    failing_ = false;
  } catch (const util::Error& e) {
    ++counters_.write_errors;
    // Said once per run of failures; tried again at the next change after the interval.
    if (!failing_) spdlog::error("history: {}; will try again", e.what());
    failing_ = true;
  }
  if (saved_) saved_(book_.take_changed());
}

}  // namespace dashctl::daemon
