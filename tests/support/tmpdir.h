// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <string>

namespace dashctl::test {

/// A fresh directory under $TMPDIR (mode 0700), removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  /// Writes a file below the directory (creating parent directories) and returns its path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

}  // namespace dashctl::test
