// SPDX-License-Identifier: GPL-2.0-or-later
#include "util/text.h"

#include <algorithm>

namespace dashctl::util {

size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows suffice for the optimal-string-alignment variant (transpositions count 1,
  // the commonest typo in a verb).
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest(std::string_view word, std::span<const std::string> candidates) {
  std::string best;
  size_t best_distance = 0;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (best.empty() || d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  // A third of the word, at least one edit: "stauts" -> "status", but not "x" -> "show".
  const size_t limit = std::max<size_t>(1, word.size() / 3);
  if (best.empty() || best_distance > limit) return {};
  return best;
}

std::string did_you_mean(std::string_view word, std::span<const std::string> candidates) {
  const auto c = closest(word, candidates);
  return c.empty() ? std::string{} : " (did you mean '" + c + "'?)";
}

bool is_button_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(name.front())) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '_' || c == '-'; });
}

std::string quoted(std::string_view text) {
  // Appended into one buffer, not "'" + std::string(text) + "'": at -O3, GCC 12 takes that
  // operator+ (an insert at the front) for an overlapping memcpy and warns (-Wrestrict, GCC
  // bug 105651).
  std::string s;
  s.reserve(text.size() + 2);
  s += '\'';
  s += text;
  s += '\'';
  return s;
}

std::string button_name_rule() {
  return "1 to 32 of a-z, 0-9, '_' and '-', starting with a letter or digit";
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (i < text.size()) {
    while (i < text.size() && space(text[i])) ++i;
    const size_t start = i;
    while (i < text.size() && !space(text[i])) ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

}  // namespace dashctl::util
