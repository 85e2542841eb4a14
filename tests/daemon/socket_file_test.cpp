// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's socket files: a directory of its own, a live socket never taken, and only its
// own file removed at exit.

#include "support/catch.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "daemon/socket_file.h"
#include "support/tmpdir.h"
#include "util/error.h"
#include "util/posix.h"

using namespace dashctl;

namespace {

/// A datagram socket bound at `path`, as a daemon's event socket is.
util::Fd bound(const std::string& path) {
  util::Fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

util::Exit refusal(const std::function<void()>& f, std::string* what = nullptr) {
  try {
    f();
  } catch (const util::Error& e) {
    if (what) *what = e.what();
    return e.code();
  }
  return util::Exit::ok;
}

}  // namespace

TEST_CASE("socket directories: this user's or root's, and nobody else may write to them") {
  test::TempDir tmp;
  const std::string dir = tmp / "run";
  // Missing: made, 0755.
  daemon::prepare_socket_dir(dir + "/control.sock", "daemon.control_socket");
  struct stat st {};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0755);
  std::string what;
  for (const mode_t mode : {mode_t(0777), mode_t(01777), mode_t(0773)}) {
    INFO(mode);
    REQUIRE(::chmod(dir.c_str(), mode) == 0);
    CHECK(refusal([&] { daemon::prepare_socket_dir(dir + "/control.sock", "daemon.control_socket"); }, &what) ==
          util::Exit::no_perm);
    CHECK_THAT(what, Catch::Contains("daemon.control_socket: " + dir + " is writable by everyone"));
  }
  REQUIRE(::chmod(dir.c_str(), 0775) == 0);  // the group's: the admins', as for /run/dashctl
  daemon::prepare_socket_dir(dir + "/control.sock", "daemon.control_socket");
  if (::geteuid() == 0) {
    REQUIRE(::chown(dir.c_str(), 4242, 4242) == 0);
    CHECK(refusal([&] { daemon::prepare_socket_dir(dir + "/events.sock", "daemon.event_socket"); }, &what) ==
          util::Exit::no_perm);
    CHECK_THAT(what, Catch::Contains("belongs to another user (uid 4242)"));
  }
}

TEST_CASE("a live socket is never taken; a dead one is replaced; only our own file is removed") {
  test::TempDir tmp;
  const std::string path = tmp / "events.sock";
  auto live = [](const std::string&) { return true; };
  auto dead = [](const std::string&) { return false; };
  daemon::claim_socket_path(path, "daemon.event_socket", "receives dnsmasq's events", live);  // nothing there

  {
    const auto other = bound(path);
    std::string what;
    CHECK(refusal([&] { daemon::claim_socket_path(path, "daemon.event_socket", "receives dnsmasq's events", live); },
                  &what) == util::Exit::unavailable);
    CHECK(what == "another 'dashctl run' receives dnsmasq's events on " + path);
    CHECK(::access(path.c_str(), F_OK) == 0);
  }
  daemon::claim_socket_path(path, "daemon.event_socket", "receives dnsmasq's events", dead);
  CHECK(::access(path.c_str(), F_OK) != 0);  // a dead daemon's: removed

  tmp.write("events.sock", "a file");
  CHECK(refusal([&] { daemon::claim_socket_path(path, "daemon.event_socket", "x", dead); }) ==
        util::Exit::cant_create);
  ::unlink(path.c_str());

  // Ours, then replaced by another daemon's: the other one's stays.
  const auto first = bound(path);
  const daemon::BoundSocketFile ours(path);
  ::unlink(path.c_str());
  const auto second = bound(path);
  ours.remove();
  CHECK(::access(path.c_str(), F_OK) == 0);
  const daemon::BoundSocketFile theirs(path);
  theirs.remove();
  CHECK(::access(path.c_str(), F_OK) != 0);
}
