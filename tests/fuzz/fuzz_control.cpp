// SPDX-License-Identifier: GPL-2.0-or-later
// The control socket's protocol on arbitrary bytes, both sides (daemon/protocol.h):
// parse_request() of what a client sends the daemon, and read_status() of what the daemon
// answers `dashctl status`. Either gives a result or a refusal, never a crash; and
// parse_request() agrees with its contract (the line before the first '\n' in the first
// kMaxRequest bytes, matched exactly; "battery NAME LEVEL" in its one spelling).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "daemon/protocol.h"
#include "util/error.h"

namespace {

using namespace dashctl;

void check_request(std::string_view bytes) {
  const daemon::Request r = daemon::parse_request(bytes);
  const size_t nl = bytes.substr(0, daemon::kMaxRequest).find('\n');
  if (nl == std::string_view::npos) {
    const bool full = bytes.size() >= daemon::kMaxRequest;
    if (r != (full ? daemon::Request::too_long : daemon::Request::incomplete)) std::abort();
    return;
  }
  const std::string_view line = bytes.substr(0, nl);
  // A battery request is one in its canonical spelling, the one battery_request() writes.
  const auto battery = daemon::parse_battery(bytes);
  if (battery && daemon::battery_request(*battery) != line) std::abort();
  const daemon::Request want = line == "ping"     ? daemon::Request::ping
                               : line == "status" ? daemon::Request::status
                               : line == "reload" ? daemon::Request::reload
                               : battery          ? daemon::Request::battery
                                                  : daemon::Request::unknown;
  if (r != want) std::abort();
  // What follows the line, and whatever arrives in later reads, changes nothing.
  if (daemon::parse_request(bytes.substr(0, nl + 1)) != r) std::abort();
}

void check_status(std::string_view bytes) {
  const auto json = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return;  // `dashctl status` reports the parse error
  try {
    (void)daemon::read_status(json);
  } catch (const util::Error& e) {
    if (e.code() != util::Exit::unavailable) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_request(bytes);
  check_status(bytes);
  return 0;
}
