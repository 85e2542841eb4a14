#include "cli.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "config/load.h"

namespace dashctl::cmd {

std::string Globals::config_path() const {
  return config.empty() ? config::default_path() : config;
}

bool Globals::color(FILE* stream) const {
  const char* no_color_env = std::getenv("NO_COLOR");
  return !no_color && !(no_color_env && *no_color_env) && ::isatty(::fileno(stream));
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
