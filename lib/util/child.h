// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Work done in a forked child, so that the pages it touches (a library's initialisation, its
// tables) never become the caller's: the daemon checks and makes its TLS identity this way.

#include <functional>
#include <optional>
#include <string>

namespace dashctl::util {

struct ChildResult {
  int code = 0;      ///< what the work returned; 70 when it threw
  std::string what;  ///< what it threw (std::exception::what), else empty
};

/// Runs `work` in a forked child and waits for it. nullopt when no child could be made (the
/// caller then does the work itself). The child only runs `work` and exits (_exit): no
/// destructor, no atexit handler, no buffered output of the parent's runs twice.
std::optional<ChildResult> run_in_child(const std::function<int()>& work);

}  // namespace dashctl::util
