// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The buttons' history on disk: read at start, written atomically after changes, at most once
// per kWriteInterval (a change after a quiet interval at once), and once more at exit.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "history/history.h"

namespace boost::asio {
class io_context;
}

namespace dashctl::daemon {

class HistoryKeeper {
 public:
  static constexpr std::chrono::seconds kWriteInterval{5};
  /// Called after each write with the buttons changed since the one before (their state
  /// messages go out then, at the same bounded rate).
  using Saved = std::function<void(const std::set<std::string>& changed)>;

  struct Counters {
    uint64_t writes = 0;
    uint64_t write_errors = 0;
  };

  /// Reads `dir`/buttons.json. None is an empty history. One that cannot be read as a
  /// dashctl buttons file is moved aside to buttons.json.bad-<UTC time> and said, and the
  /// history starts empty: never fatal. So is a directory that cannot be read (then nothing
  /// is written either, and status says so).
  HistoryKeeper(boost::asio::io_context& io, const std::string& dir, Saved saved);
  ~HistoryKeeper();

  history::Book& book() { return book_; }
  const history::Book& book() const { return book_; }

  /// After anything that may have changed the book: written now, or when the interval since
  /// the last write ends (without a file, as problem() says, only the Saved call is made).
  void changed();
  /// Writes now if anything changed (at exit).
  void flush();

  const std::string& path() const { return path_; }
  const Counters& counters() const { return counters_; }
  /// Why the history is not being kept on disk, or empty.
  const std::string& problem() const { return problem_; }

 private:
  void write();

  struct Timer;
  std::string dir_, path_;
  Saved saved_;
  history::Book book_;
  history::WriteGate gate_{kWriteInterval};
  std::unique_ptr<Timer> timer_;
  bool armed_ = false;
  bool failing_ = false;
  Counters counters_;
  std::string problem_;
};

}  // namespace dashctl::daemon
