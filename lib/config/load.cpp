// SPDX-License-Identifier: GPL-2.0-or-later
#include "config/load.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <tuple>

#include <spdlog/spdlog.h>

#include "config/parse.h"
#include "util/fs.h"
#include "util/text.h"

namespace dashctl::config {
namespace {

constexpr const char* kDefaultPath = "/etc/dashctl/dashctl.toml";

/// A problem with a file as a whole, reported at its first line. Built field by field: GCC 12
/// at -O3 warns that a braced {{file, 1, 1}, message} temporary "may be used uninitialized".
Diagnostic whole_file(const std::string& file, std::string message) {
  Diagnostic d;
  d.where.file = file;
  d.where.line = 1;
  d.where.column = 1;
  d.message = std::move(message);
  return d;
}

bool has_exec(const Button& b) {
  return std::any_of(b.on_press.begin(), b.on_press.end(),
                     [](const Action& a) { return std::holds_alternative<ExecAction>(a); });
}

/// Why others could change what `path` says, or "".
std::string ownership_problem(const struct stat& st) {
  if (st.st_mode & (S_IWGRP | S_IWOTH)) return "is writable by group or others";
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    return "is owned by uid " + std::to_string(st.st_uid) + ", neither root nor the current user";
  return {};
}

std::string fix_for(const std::string& path, const struct stat& st) {
  if (st.st_mode & (S_IWGRP | S_IWOTH)) return "run 'chmod go-w " + path + "'";
  return "run 'chown root " + path + "'";
}

/// A directory whose files are config: others must not be able to add or swap them.
void check_directory(const std::string& dir, std::vector<Diagnostic>& problems) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return;
  // A sticky directory (/tmp) lets others create files but not replace ours, and
  // buttons.d inside it is checked on its own.
  if (st.st_mode & S_ISVTX) return;
  if (const auto p = ownership_problem(st); !p.empty()) {
    problems.push_back(whole_file(
        dir, "directory " + p + ", so others could add a button that runs programs; " +
                 fix_for(dir, st)));
  }
}

void check_file(const std::string& file, bool exec, bool password,
                std::vector<Diagnostic>& problems) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return;
  if (exec) {
    if (const auto p = ownership_problem(st); !p.empty()) {
      problems.push_back(whole_file(file, "has exec actions but " + p +
                                              ", so others could make dashctl run any program; " +
                                              fix_for(file, st)));
    }
  }
  if (password && (st.st_mode & S_IROTH)) {
    problems.push_back(whole_file(file, "holds the MQTT password but is readable by everyone; "
                                        "run 'chmod o-r " + file + "'"));
  }
}

void load_buttons_dir(const std::string& dir, Config& config, std::vector<Diagnostic>& problems,
                      std::vector<Diagnostic>& warnings) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) {
    if (errno == ENOENT) return;
    util::throw_system("reading " + dir, errno, util::Exit::no_input);
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d.get())) {
    const std::string n = e->d_name;
    // Dot files are editor and dashctl temporaries; other suffixes (.bak, .dpkg-old)
    // are left alone, as in any conf.d directory.
    if (n.empty() || n.front() == '.' || !n.ends_with(".toml")) continue;
    names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    const std::string file = dir + "/" + n;
    const std::string name = n.substr(0, n.size() - 5);
    if (!util::is_button_name(name)) {
      problems.push_back(whole_file(file, "'" + name + "' is not a valid button name (" +
                                              util::button_name_rule() + "); rename the file"));
      continue;
    }
    std::optional<std::string> text;
    try {
      // A FIFO, a device or a huge file is refused without waiting on it or reading it all.
      text = util::read_file(file, kMaxConfigFile);
    } catch (const util::Error& e) {
      // The diagnostic names the file already.
      std::string what = e.what();
      if (what.starts_with(file + " ")) what.erase(0, file.size() + 1);
      problems.push_back(whole_file(file, what));
      continue;
    }
    if (!text) {
      struct stat st {};
      if (::lstat(file.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
        warnings.push_back(
            whole_file(file, "a symlink to nothing (a dangling link): no button '" + name + "'"));
      continue;  // or removed while we read the directory
    }
    if (auto b = parse_button_file(*text, file, name, problems)) {
      check_file(file, has_exec(*b), false, problems);
      config.buttons.push_back(std::move(*b));
    }
  }
}

}  // namespace

std::string default_path() {
  const char* env = std::getenv("DASHCTL_CONFIG");
  return env && *env ? env : kDefaultPath;
}

std::string buttons_dir_for(const std::string& config_path) {
  return util::dirname_of(config_path) + "/buttons.d";
}

std::string button_file_for(const std::string& config_path, const std::string& name) {
  return buttons_dir_for(config_path) + "/" + name + ".toml";
}

ConfigError::ConfigError(std::vector<Diagnostic> problems)
    : util::Error(util::Exit::data, problems.empty() ? "bad config" : problems.front().str(),
                  "run 'dashctl config check' to see every problem"),
      problems_(std::move(problems)) {}

Checked check(const std::string& path) {
  Checked out;
  const auto text = util::read_file(path, kMaxConfigFile);
  if (!text) {
    throw util::Error(util::Exit::no_input, "reading " + path + ": No such file or directory",
                      "write one (see dashctl.toml(5)) or point -c/--config at it");
  }
  out.config.path = path;
  out.config.buttons_dir = buttons_dir_for(path);
  parse_main(*text, path, out.config, out.problems);
  const bool inline_exec = std::any_of(out.config.buttons.begin(), out.config.buttons.end(), has_exec);
  const bool password = out.config.mqtt && !out.config.mqtt->password.empty();
  check_file(path, inline_exec, password, out.problems);
  check_directory(util::dirname_of(path), out.problems);
  check_directory(out.config.buttons_dir, out.problems);
  load_buttons_dir(out.config.buttons_dir, out.config, out.problems, out.warnings);
  validate(out.config, out.problems);
  // Compiler order: files as they were read, then by position within each.
  std::vector<std::string> files;
  for (const auto& p : out.problems)
    if (std::find(files.begin(), files.end(), p.where.file) == files.end()) files.push_back(p.where.file);
  auto rank = [&](const Diagnostic& d) {
    return std::tuple(std::find(files.begin(), files.end(), d.where.file) - files.begin(), d.where.line,
                      d.where.column);
  };
  std::stable_sort(out.problems.begin(), out.problems.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return rank(a) < rank(b); });
  return out;
}

Config load(const std::string& path) {
  auto checked = check(path);
  if (!checked.problems.empty()) throw ConfigError(std::move(checked.problems));
  for (const auto& w : checked.warnings) spdlog::warn("{}", w.str());
  return std::move(checked.config);
}

}  // namespace dashctl::config
