// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Small text helpers shared by the CLI and the config.

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dashctl::util {

/// The Damerau-Levenshtein (optimal string alignment) distance, for "did you mean".
size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word` if it is close enough to be a likely typo, else "".
std::string closest(std::string_view word, std::span<const std::string> candidates);

/// " (did you mean 'x'?)" when a candidate is close, else "".
std::string did_you_mean(std::string_view word, std::span<const std::string> candidates);

/// True when `name` is a valid button name: [a-z0-9][a-z0-9_-]{0,31}.
bool is_button_name(std::string_view name);

/// What is_button_name accepts, for messages and hints: "1 to 32 of a-z, 0-9, '_' and '-',
/// starting with a letter or digit".
std::string button_name_rule();

/// `text` in single quotes, for messages: 'br-iot'.
std::string quoted(std::string_view text);

/// Splits on runs of white space.
std::vector<std::string> split_words(std::string_view text);

}  // namespace dashctl::util
