// SPDX-License-Identifier: GPL-2.0-or-later
// dashctl run: the daemon, in the foreground.

#include <cstdlib>
#include <memory>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli.h"
#include "daemon/daemon.h"

namespace dashctl::cmd {
namespace {

/// "<3>" and friends: the priority prefix journald reads from a service's stderr.
class JournalPriority : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr const char* prefix[] = {"<7>", "<7>", "<6>", "<4>", "<3>", "<2>", "<6>"};
    const std::string_view p = prefix[static_cast<int>(msg.level)];
    dest.append(p.data(), p.data() + p.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JournalPriority>(); }
};

/// The daemon logs more than a verb: info by default. Under systemd (JOURNAL_STREAM set)
/// without timestamps, which the journal adds, and with priorities it understands.
void setup_daemon_logging(const Globals& g) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      g.color(stderr) ? spdlog::color_mode::automatic : spdlog::color_mode::never);
  auto logger = std::make_shared<spdlog::logger>("dashctl", sink);
  const char* journal = std::getenv("JOURNAL_STREAM");
  if (journal && *journal) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JournalPriority>('*').set_pattern("%*%v");
    logger->set_formatter(std::move(formatter));
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  }
  logger->set_level(g.quiet ? spdlog::level::warn : g.verbose ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace

void setup_run(CLI::App& app, Globals& g, Action& action) {
  auto* sub = app.add_subcommand("run", "Run the daemon in the foreground (no root needed)");
  sub->callback([&] {
    action = [&] {
      const auto config = existing_config_path(g);
      setup_daemon_logging(g);
      return daemon::run(config);
    };
  });
}

}  // namespace dashctl::cmd
