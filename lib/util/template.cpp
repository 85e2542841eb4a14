// SPDX-License-Identifier: GPL-2.0-or-later
#include "util/template.h"

#include <algorithm>

#include "util/text.h"

namespace dashctl::util {
namespace {

/// Calls on_text/on_placeholder for each piece of `text`.
template <typename Text, typename Placeholder>
void scan(std::string_view text, Text on_text, Placeholder on_placeholder) {
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      on_text(text.substr(i, 1));
      i += 2;
      continue;
    }
    if (c == '{') {
      size_t j = i + 1;
      while (j < text.size() && ((text[j] >= 'a' && text[j] <= 'z') || text[j] == '_')) ++j;
      if (j > i + 1 && j < text.size() && text[j] == '}') {
        on_placeholder(text.substr(i + 1, j - i - 1));
        i = j + 1;
        continue;
      }
    }
    on_text(text.substr(i, 1));
    ++i;
  }
}

}  // namespace

const std::vector<std::string>& template_placeholders() {
  static const std::vector<std::string> names{"button", "mac", "ip", "time", "count", "source"};
  return names;
}

std::optional<std::string> template_problem(std::string_view text) {
  std::optional<std::string> problem;
  const auto& known = template_placeholders();
  scan(
      text, [](std::string_view) {},
      [&](std::string_view name) {
        if (problem || std::find(known.begin(), known.end(), name) != known.end()) return;
        std::string all;
        for (const auto& k : known) all += (all.empty() ? "{" : ", {") + k + "}";
        const auto guess = closest(name, known);
        problem = "unknown placeholder {" + std::string(name) + "}" +
                  (guess.empty() ? "" : " (did you mean {" + guess + "}?)") +
                  "; known: " + all + " ('{{' for a literal brace)";
      });
  return problem;
}

std::string render_template(std::string_view text,
                            const std::function<std::string(std::string_view)>& value) {
  std::string out;
  out.reserve(text.size());
  scan(
      text, [&](std::string_view piece) { out += piece; },
      [&](std::string_view name) { out += value(name); });
  return out;
}

}  // namespace dashctl::util
