// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Unified diffs of small texts, as `setup --dry-run` shows a file's change.

#include <string>
#include <string_view>

namespace dashctl::util {

/// The hunks ("@@ -a,b +c,d @@" and their lines, 3 lines of context) that turn `old_text`
/// into `new_text`, as diff -u writes them, "\ No newline at end of file" included; "" when
/// they are the same. Past some millions of line pairs the whole text is replaced.
std::string unified_diff(std::string_view old_text, std::string_view new_text);

}  // namespace dashctl::util
