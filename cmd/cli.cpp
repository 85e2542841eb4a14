#include "cli.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "config/load.h"
#include "util/duration.h"
#include "util/error.h"
#include "util/text.h"

namespace dashctl::cmd {

std::string Globals::config_path() const {
  return config.empty() ? config::default_path() : config;
}

bool Globals::color(FILE* stream) const {
  const char* no_color_env = std::getenv("NO_COLOR");
  return !no_color && !(no_color_env && *no_color_env) && ::isatty(::fileno(stream));
}

void add_press_options(CLI::App* verb, PressOptions& o) {
  verb->add_option("--window", o.window, "Sightings within this time are one press (default 10s)")
      ->type_name("DURATION");
  verb->add_option("--mqtt", o.mqtt, "Publish PAYLOAD (default 'press') to TOPIC on a press")
      ->type_name("TOPIC[=PAYLOAD]");
  verb->add_option("--exec", o.exec, "Run a program (absolute path, split on spaces, no shell)")
      ->type_name("'PROGRAM ARG...'");
  verb->add_option("--webhook", o.webhook, "POST to a URL on a press")->type_name("URL");
}

void apply_press_options(const std::string& verb, const PressOptions& o, config::Button& b) {
  using util::Error;
  using util::Exit;
  if (!o.window.empty()) {
    const auto d = util::parse_duration(o.window);
    if (!d) throw Error(Exit::usage, verb + ": --window: '" + o.window + "' is not a duration (like 10s)");
    b.window = *d;
  }
  for (const auto& m : o.mqtt) {
    config::MqttAction a;
    const auto eq = m.find('=');
    a.topic = m.substr(0, eq);
    if (eq != std::string::npos) a.payload = m.substr(eq + 1);
    b.on_press.emplace_back(a);
  }
  for (const auto& e : o.exec) {
    config::ExecAction a;
    a.argv = util::split_words(e);
    if (a.argv.empty()) throw Error(Exit::usage, verb + ": --exec needs a program");
    b.on_press.emplace_back(a);
  }
  for (const auto& w : o.webhook) {
    config::WebhookAction a;
    a.url = w;
    b.on_press.emplace_back(a);
  }
}

config::Config load_config(const Globals& globals) { return config::load(globals.config_path()); }

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
