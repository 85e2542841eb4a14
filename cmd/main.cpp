// SPDX-License-Identifier: GPL-2.0-or-later
// dashctl: the CLI11 app. It only wires the verbs together and turns what they throw into
// one line on stderr and a sysexits(3) code; the verbs live in verb_*.cpp.

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli.h"
#include "config/load.h"
#include "util/error.h"
#include "util/spawn.h"
#include "util/text.h"

namespace dashctl::cmd {
namespace {

using util::Exit;

/// The verbs, in the order `dashctl --help` lists them. A verb is registered only once it
/// works.
constexpr VerbSetup kVerbs[] = {
    setup_setup,  // setup and teardown
    setup_status,
    setup_learn,
    setup_provision,
    setup_run,
    setup_button,
    setup_dhcp_event,
    setup_config,
    setup_version,
};

void print_error(const Globals& g, const std::string& message, const std::string& hint = {}) {
  const bool color = g.color(stderr);
  std::fprintf(stderr, "%sdashctl:%s %s\n", color ? "\033[1;31m" : "", color ? "\033[0m" : "",
               message.c_str());
  if (!hint.empty()) std::fprintf(stderr, "hint: %s\n", hint.c_str());
}

void setup_logging(const Globals& g) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      g.color(stderr) ? spdlog::color_mode::automatic : spdlog::color_mode::never);
  auto logger = std::make_shared<spdlog::logger>("dashctl", sink);
  logger->set_pattern("dashctl: %^%l%$: %v");
  logger->set_level(g.quiet          ? spdlog::level::err
                    : g.verbose >= 2 ? spdlog::level::debug
                    : g.verbose == 1 ? spdlog::level::info
                                     : spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

/// The deepest subcommand the parser got into: the one an unknown word was meant for.
CLI::App* deepest(CLI::App* app) {
  for (auto* sub : app->get_subcommands()) return deepest(sub);
  return app;
}

std::vector<std::string> verb_names(CLI::App* app) {
  std::vector<std::string> names;
  for (const auto* sub : app->get_subcommands([](CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  return names;
}

/// "dashctl button add" for the app of `button add`.
std::string command_path(const CLI::App* app) {
  std::string path = app->get_name();
  for (const CLI::App* p = app->get_parent(); p; p = p->get_parent()) path = p->get_name() + " " + path;
  return path;
}

/// The help of one verb, with its full command in the usage line.
std::string help_of(const CLI::App* app) {
  const CLI::App* parent = app->get_parent();
  // The top's help() would show the verb being parsed: for `dashctl help`, help itself.
  if (!parent)
    return app->get_formatter()->make_help(app, app->get_name(), CLI::AppFormatMode::Normal);
  return app->help(command_path(parent));
}

/// On a terminal, replaces dashctl with `man PAGE`. Returns when it cannot: stdout is no
/// terminal (a script wants the text), man is missing, or the page is not installed.
void exec_man(const std::string& page) {
  if (!isatty(STDOUT_FILENO)) return;
  // `man -w` says whether the page is installed without showing it; it prints the path.
  const auto man = util::spawn({"man", "-w", page});  // stdio on /dev/null
  if (!man) return;
  int status = 0;
  while (waitpid(man.pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return;
  std::fflush(stdout);
  const char* show[] = {"man", page.c_str(), nullptr};
  execvp("man", const_cast<char**>(show));
}

/// "unknown command 'stauts' (did you mean 'status'?)" when a word in the verb position
/// is not a verb; empty when the parse error is about something else.
std::string unknown_verb(CLI::App* app) {
  CLI::App* at = deepest(app);
  if (at->get_subcommands([](CLI::App*) { return true; }).empty()) return {};
  // With fallthrough, a stray word may be kept by any level, so ask from the top.
  for (const auto& word : app->remaining(true)) {
    if (word.empty() || word.front() == '-') continue;
    const auto names = verb_names(at);
    return "unknown command '" + word + "' for '" + command_path(at) + "'" +
           util::did_you_mean(word, names);
  }
  return {};
}

int run(int argc, char** argv) {
  Globals g;
  CLI::App app{"dashctl: local triggers from Wi-Fi phone-home buttons (Amazon Dash and friends)",
               "dashctl"};
  app.set_version_flag("--version", std::string("dashctl ") + DASHCTL_VERSION);
  app.add_option("-c,--config", g.config, "Config file (default: $DASHCTL_CONFIG or "
                                          "/etc/dashctl/dashctl.toml)")
      ->type_name("PATH");
  app.add_flag("-v,--verbose", g.verbose, "More detail on stderr (repeatable)");
  app.add_flag("-q,--quiet", g.quiet, "Only errors on stderr");
  app.add_flag("--json", g.json, "Print data as JSON");
  app.add_flag("--no-color", g.no_color, "No colour, even on a terminal");
  app.require_subcommand(1);
  app.fallthrough();
  app.footer("Run 'dashctl help VERB' or 'dashctl VERB --help' for a verb's options.\n"
             "Exit codes follow sysexits(3); see dashctl(8).");

  Action action;
  for (const auto setup : kVerbs) setup(app, g, action);

  std::vector<std::string> help_path;
  auto* help = app.add_subcommand("help", "Show the help of dashctl or of a verb");
  help->add_option("verb", help_path, "The verb (and sub-verb) to explain");
  help->callback([&] {
    action = [&] {
      CLI::App* target = &app;
      for (const auto& word : help_path) {
        CLI::App* sub = nullptr;
        try {
          sub = target->get_subcommand(word);
        } catch (const CLI::OptionNotFound&) {
        }
        if (!sub || sub == help)
          throw util::Error(Exit::usage, "help: unknown command '" + word + "'" +
                                             util::did_you_mean(word, verb_names(target)));
        target = sub;
      }
      // The page is the verb's: `help button add` opens dashctl-button(8).
      exec_man(help_path.empty() ? "dashctl"
                                 : "dashctl-" + app.get_subcommand(help_path[0])->get_name());
      std::fputs(help_of(target).c_str(), stdout);
      return 0;
    };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);  // delegates to the verb being parsed
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    std::puts(e.what());
    return 0;
  } catch (const CLI::ParseError& e) {
    setup_logging(g);
    if (argc == 1) {
      std::fputs(app.help().c_str(), stderr);
      return static_cast<int>(Exit::usage);
    }
    std::string message = unknown_verb(&app);
    if (message.empty()) message = e.what();
    print_error(g, message, "see '" + command_path(deepest(&app)) + " --help'");
    return static_cast<int>(Exit::usage);
  }

  setup_logging(g);
  try {
    return action ? action() : static_cast<int>(Exit::usage);
  } catch (const config::ConfigError& e) {
    for (const auto& p : e.problems()) print_error(g, p.str());
    return static_cast<int>(e.code());
  } catch (const util::Error& e) {
    print_error(g, e.what(), e.hint());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    print_error(g, "out of memory");
    return static_cast<int>(Exit::os);
  } catch (const std::exception& e) {
    print_error(g, std::string("internal error: ") + e.what());
    return static_cast<int>(Exit::software);
  }
}

}  // namespace
}  // namespace dashctl::cmd

int main(int argc, char** argv) { return dashctl::cmd::run(argc, argv); }
