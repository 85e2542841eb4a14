// SPDX-License-Identifier: GPL-2.0-or-later
#include "util/diff.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace dashctl::util {

namespace {

/// The lines of a text, each with its '\n' when it has one, so that a missing final
/// newline counts as a difference.
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    const size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

struct Edit {
  char kind;  ///< ' ', '-' or '+'
  std::string_view line;
};

/// A shortest edit script through the longest common subsequence. Files here are small;
/// past a size where the table would be large, the whole file is replaced instead.
std::vector<Edit> edit_script(const std::vector<std::string_view>& a,
                              const std::vector<std::string_view>& b) {
  std::vector<Edit> out;
  const size_t n = a.size(), m = b.size();
  if (n * m > 4'000'000) {
    for (const auto l : a) out.push_back({'-', l});
    for (const auto l : b) out.push_back({'+', l});
    return out;
  }
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
  std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
  const auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;)
      at(i, j) = a[i] == b[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
  }
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      out.push_back({' ', a[i]});
      ++i, ++j;
    } else if (j == m || (i < n && at(i + 1, j) >= at(i, j + 1))) {
      out.push_back({'-', a[i++]});
    } else {
      out.push_back({'+', b[j++]});
    }
  }
  return out;
}

/// "start,count" as unified diffs write it: the count only when it is not 1, and the line
/// before the hunk when it is empty.
std::string range(size_t first, size_t count) {
  if (count == 1) return std::to_string(first + 1);
  return std::to_string(count == 0 ? first : first + 1) + "," + std::to_string(count);
}

}  // namespace

std::string unified_diff(std::string_view old_text, std::string_view new_text) {
  constexpr size_t kContext = 3;
  const auto a = lines_of(old_text), b = lines_of(new_text);
  const auto edits = edit_script(a, b);
  std::string out;
  size_t k = 0;
  while (k < edits.size()) {
    while (k < edits.size() && edits[k].kind == ' ') ++k;
    if (k == edits.size()) break;
    // A hunk: from kContext lines before this change to kContext lines after the last
    // change that is less than 2 * kContext unchanged lines from the one before it.
    const size_t begin = k >= kContext ? k - kContext : 0;
    size_t end = k;
    for (size_t same = 0; end < edits.size(); ++end) {
      same = edits[end].kind == ' ' ? same + 1 : 0;
      if (same > 2 * kContext) break;
    }
    // Keep only kContext of the trailing unchanged lines.
    size_t trailing = 0;
    while (trailing < end && edits[end - 1 - trailing].kind == ' ') ++trailing;
    if (trailing > kContext) end -= trailing - kContext;
    size_t old_first = 0, new_first = 0;
    for (size_t e = 0; e < begin; ++e) {
      if (edits[e].kind != '+') ++old_first;
      if (edits[e].kind != '-') ++new_first;
    }
    size_t old_count = 0, new_count = 0;
    for (size_t e = begin; e < end; ++e) {
      if (edits[e].kind != '+') ++old_count;
      if (edits[e].kind != '-') ++new_count;
    }
    out += "@@ -" + range(old_first, old_count) + " +" + range(new_first, new_count) + " @@\n";
    for (size_t e = begin; e < end; ++e) {
      out += edits[e].kind;
      out += edits[e].line;
      if (!edits[e].line.ends_with('\n')) out += "\n\\ No newline at end of file\n";
    }
    k = end;
  }
  return out;
}

}  // namespace dashctl::util
