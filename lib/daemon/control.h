// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The daemon's control socket, client side: what `dashctl status` asks the running daemon.
// Plain POSIX sockets; no event loop needed for one question.

#include <chrono>
#include <optional>
#include <string>

namespace dashctl::daemon {

/// Sends one request line to the daemon's control socket and returns its answer (JSON), or
/// nullopt when no daemon listens there. A daemon that answers "busy" (more clients at once
/// than it serves) is asked again, 5 times over about half a second, then util::Error
/// (Exit::temp_fail). Throws util::Error when a daemon answers badly or not within `timeout`.
std::optional<std::string> ask(const std::string& socket_path, const std::string& request,
                               std::chrono::milliseconds timeout = std::chrono::milliseconds(500));

}  // namespace dashctl::daemon
