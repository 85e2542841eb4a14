// SPDX-License-Identifier: GPL-2.0-or-later
#include "cli.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "config/load.h"
#include "daemon/control.h"
#include "util/duration.h"
#include "util/error.h"

namespace dashctl::cmd {

std::string Globals::config_path() const {
  return config.empty() ? config::default_path() : config;
}

bool Globals::color(FILE* stream) const {
  const char* no_color_env = std::getenv("NO_COLOR");
  return !no_color && !(no_color_env && *no_color_env) && ::isatty(::fileno(stream));
}

std::string existing_config_path(const Globals& globals) {
  std::string path = globals.config_path();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT)
    throw util::Error(util::Exit::no_input, "no config at " + path,
                      "start with 'sudo dashctl setup --iot-interface IFACE', which writes one, or write one "
                      "yourself (dashctl.toml(5)); -c/--config or $DASHCTL_CONFIG names another");
  return path;
}

std::chrono::milliseconds flag_duration(const std::string& verb, const std::string& flag, const std::string& value,
                                        std::chrono::milliseconds min, std::chrono::milliseconds max) {
  auto why = util::DurationProblem::malformed;
  const auto d = util::parse_flag_duration(value, &why);
  const std::string what = verb + ": " + flag + ": '" + value + "'";
  if (!d && why == util::DurationProblem::malformed)
    throw util::Error(util::Exit::usage, what + " is not a duration (like 90s, 500ms, 5m, or 90 for seconds)");
  if (!d || *d < min || *d > max)
    throw util::Error(util::Exit::usage, what + " is out of range: it must be between " + util::format_duration(min) +
                                             " and " + util::format_duration(max));
  return *d;
}

namespace {

/// The words of an --exec value, split as sh(1) splits a command line: at blanks, with
/// '...' keeping everything, "..." everything but \" \\ \$ and \`, and \ outside quotes
/// the next character. Nothing else of a shell's: what one would expand or run ($ and `,
/// and outside quotes | & ; < > ( )) is refused rather than passed on as if it had worked.
std::vector<std::string> exec_words(const std::string& verb, const std::string& text) {
  using util::Error;
  using util::Exit;
  const std::string flag = verb + ": --exec: ";
  const char* how = "to pass it as it is, quote it ('...') or put a \\ before it; for a shell's features, run "
                    "one: --exec '/bin/sh -c \"...\"'";
  auto shell_only = [&](char c) {
    return Error(Exit::usage, flag + "the " + std::string(1, c) + " in '" + text +
                                  "' needs a shell, and no shell runs the program", how);
  };
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;  // ' or " while inside quotes
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool next = i + 1 < text.size();
    if (c == '\\' && next && text[i + 1] == '\n' && quote != '\'') {
      ++i;  // a line continued, as in sh: both go
    } else if (quote == '\'') {
      if (c == '\'') quote = 0;
      else word += c;
    } else if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else if (c == '\\' && next && std::string_view("\"\\$`").find(text[i + 1]) != std::string_view::npos) {
        word += text[++i];
      } else if (c == '$' || c == '`') {
        throw shell_only(c);
      } else {
        word += c;
      }
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      in_word = true;
      if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '\\') {
        if (!next) throw Error(Exit::usage, flag + "'" + text + "' ends in a \\ that escapes nothing");
        word += text[++i];
      } else if (std::string_view("|&;<>()$`").find(c) != std::string_view::npos) {
        throw shell_only(c);
      } else {
        word += c;
      }
    }
  }
  if (quote)
    throw Error(Exit::usage, flag + "the " + std::string(1, quote) + " that opens a quoted part of '" + text +
                                 "' is not closed");
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace

void add_press_options(CLI::App* verb, PressOptions& o) {
  verb->add_option("--window", o.window, "Sightings within this time are one press (default 10s)")
      ->type_name("DURATION");
  verb->add_option("--mqtt", o.mqtt, "Publish PAYLOAD (default 'press') to TOPIC on a press")
      ->type_name("TOPIC[=PAYLOAD]");
  verb->add_option("--exec", o.exec, "Run a program (absolute path; words and quotes as in sh, but no shell)")
      ->type_name("'PROGRAM ARG...'");
  verb->add_option("--webhook", o.webhook, "POST to a URL on a press")->type_name("URL");
}

void apply_press_options(const std::string& verb, const PressOptions& o, config::Button& b) {
  using util::Error;
  using util::Exit;
  using namespace std::chrono_literals;
  // The bounds of a button's window in the config (dashctl.toml(5)).
  if (!o.window.empty()) b.window = flag_duration(verb, "--window", o.window, 100ms, 1h);
  for (const auto& m : o.mqtt) {
    config::MqttAction a;
    const auto eq = m.find('=');
    a.topic = m.substr(0, eq);
    if (eq != std::string::npos) a.payload = m.substr(eq + 1);
    b.on_press.emplace_back(a);
  }
  for (const auto& e : o.exec) {
    config::ExecAction a;
    a.argv = exec_words(verb, e);
    if (a.argv.empty()) throw Error(Exit::usage, verb + ": --exec needs a program");
    b.on_press.emplace_back(a);
  }
  for (const auto& w : o.webhook) {
    config::WebhookAction a;
    a.url = w;
    b.on_press.emplace_back(a);
  }
}

void give_battery(const config::Config& c, const std::string& name, int level) {
  using util::Error;
  using util::Exit;
  const auto answer = daemon::ask(c.daemon.control_socket, daemon::battery_request({name, level}));
  if (!answer)
    throw Error(Exit::unavailable, "the daemon is not running (nothing answers on " + c.daemon.control_socket + ")",
                "'dashctl run' keeps the batteries: start it, then say this again");
  const auto j = nlohmann::json::parse(*answer, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ok"))
    throw Error(Exit::unavailable, "the daemon refused: " + (j.is_object() && j.contains("error") && j["error"].is_string()
                                                                 ? j["error"].get<std::string>()
                                                                 : *answer));
}

config::Config load_config(const Globals& globals) { return config::load(existing_config_path(globals)); }

void print_table(const Globals& globals, const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  const bool bold = globals.color(stdout);
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (size_t i = 0; i < rows[r].size(); ++i) {
      line += rows[r][i];
      if (i + 1 < rows[r].size()) line += std::string(width[i] - rows[r][i].size() + 2, ' ');
    }
    if (r == 0 && bold) line = "\033[1m" + line + "\033[0m";
    std::puts(line.c_str());
  }
}

}  // namespace dashctl::cmd
