// SPDX-License-Identifier: GPL-2.0-or-later
// The config parser on arbitrary bytes: it must report problems, never crash or hang.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<dashctl::config::Diagnostic> problems;
  dashctl::config::Config main;
  dashctl::config::parse_main(text, "fuzz.toml", main, problems);
  dashctl::config::validate(main, problems);
  dashctl::config::parse_button_file(text, "fuzz/b.toml", "b", problems);
  return 0;
}
