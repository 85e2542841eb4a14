// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Action templates: "{button}" and friends in MQTT topics and payloads, exec arguments
// and webhook URLs, headers and bodies.
//
// A placeholder is '{', a name of a-z and '_', '}'. "{{" stands for a literal '{'. Any
// other brace is literal, so a JSON payload such as {"a":{"b":"{button}"}} needs no
// escaping.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dashctl::util {

/// The placeholders an action may use.
const std::vector<std::string>& template_placeholders();

/// Why `text` is not a valid template (an unknown placeholder), or nullopt.
std::optional<std::string> template_problem(std::string_view text);

/// Replaces each placeholder by `value(name)`. Assumes a valid template.
std::string render_template(std::string_view text,
                            const std::function<std::string(std::string_view)>& value);

}  // namespace dashctl::util
