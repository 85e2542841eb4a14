// SPDX-License-Identifier: GPL-2.0-or-later
// dnsmasq's dhcp-script: `dashctl dhcp-event` without the rest of dashctl, for the cost of
// starting it. dnsmasq runs its script for every lease event, one at a time, and waits for
// it, while the press's own actions start; dashctl itself maps 16 shared libraries before
// main. setup writes <state_dir>/dhcp-script as one line, "#!<this program> <event socket>",
// so that the kernel (not a shell) runs
//
//   dhcp-script SOCKET SCRIPT ACTION MAC IP [HOST]
//
// SCRIPT being the generated file's own path. What it does with ACTION and the rest is
// dhcp-event's own code (daemon/event.h): the same filtering, datagram, messages and exit
// codes. It links libstdc++ statically (cmd/CMakeLists.txt), so that it maps libc alone.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "daemon/event.h"
#include "util/error.h"

namespace {

void say(const std::string& message, const std::string& hint = {}) {
  std::fprintf(stderr, "dashctl: %s\n", message.c_str());
  if (!hint.empty()) std::fprintf(stderr, "hint: %s\n", hint.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dashctl;
  if (argc < 3) {
    say("dhcp-script: expected SOCKET SCRIPT ACTION MAC IP [HOST]",
        "dnsmasq runs the script 'dashctl setup' writes, which runs this program; "
        "to hand an event over yourself, use 'dashctl dhcp-event'");
    return static_cast<int>(util::Exit::usage);
  }
  const std::string socket = argv[1];
  try {
    const auto parsed = daemon::parse_dhcp_event({argv + 3, argv + argc}, [](const char* name) { return std::getenv(name); });
    if (!parsed.event) return 0;
    std::string why;
    const auto sent = daemon::send_event(socket, daemon::encode(*parsed.event), &why);
    if (sent != daemon::Sent::sent) say("warning: " + daemon::dropped_message(sent, socket, why));
    return 0;
  } catch (const util::Error& e) {
    say(e.what(), e.hint());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    // Out of memory, at worst: dnsmasq can do nothing about it either.
    say(std::string("dhcp-script: ") + e.what());
    return static_cast<int>(util::Exit::software);
  }
}
