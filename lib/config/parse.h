// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// Pure parsing and validation over text: no file system, so unit tests and the fuzz
// target drive exactly what `load` runs.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace dashctl::config {

/// Parses the main config file's text into `out` (defaults for what it leaves out),
/// appending every problem found. Inline [[button]] tables land in out.buttons.
void parse_main(std::string_view text, const std::string& file, Config& out,
                std::vector<Diagnostic>& problems);

/// Parses one buttons.d file. The button is named after its file, so the file has no
/// `name` key. Returns nullopt (with problems appended) when it is unusable.
std::optional<Button> parse_button_file(std::string_view text, const std::string& file,
                                        const std::string& name,
                                        std::vector<Diagnostic>& problems);

/// The checks that span buttons and sections: unique names, MACs and addresses,
/// addresses inside the IoT subnet and outside the listen address, MQTT actions
/// without an [mqtt] section.
void validate(const Config& config, std::vector<Diagnostic>& problems);

}  // namespace dashctl::config
