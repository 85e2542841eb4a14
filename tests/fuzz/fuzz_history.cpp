// SPDX-License-Identifier: GPL-2.0-or-later
// The state file's decoder on arbitrary bytes: records or a util::Error, never a crash or
// another exception; and what it reads, written again, reads back the same.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "history/history.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dashctl;
  std::map<std::string, history::Record> records;
  try {
    records = history::decode(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const util::Error&) {
    return 0;
  }
  if (history::decode(history::encode(records)) != records) std::abort();
  return 0;
}
