// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Catch2, version 2 (Debian 12's catch2) or 3 (Debian 13's): every test includes this header
// rather than Catch2's own, and uses the names that mean the same in both: Catch::Contains,
// Catch::Matchers::StartsWith, Approx. tests/CMakeLists.txt sets DASHCTL_CATCH2_MAJOR.

#if DASHCTL_CATCH2_MAJOR >= 3
#include <string>

#include <catch2/catch_all.hpp>

namespace Catch {
/// Catch2 3 renamed the substring matcher: Contains is ContainsSubstring there.
inline Matchers::StringContainsMatcher Contains(const std::string& text,
                                                CaseSensitive cs = CaseSensitive::Yes) {
  return Matchers::ContainsSubstring(text, cs);
}
}  // namespace Catch
// Catch2 2 has Approx at the global scope too.
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif
