// SPDX-License-Identifier: GPL-2.0-or-later
// The kernel's neighbour table through libnl: real entries in a network namespace the test
// creates (root only) and removes however the test ends.

#include "support/catch.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "netlink/neighbour.h"
#include "util/error.h"

extern char** environ;

using namespace dashctl;
using namespace std::chrono_literals;

namespace {

util::Ipv4 ip(std::string_view text) { return *util::Ipv4::parse(text); }
util::Mac mac(std::string_view text) { return *util::Mac::parse(text); }

/// Runs a command (no shell) and returns its exit status, or -1. Killed after 10 s.
int run(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(5ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// A network namespace of this test's own, deleted with the object (and only if this
/// object created it).
class Netns {
 public:
  Netns() : name_("dt-nb-" + std::to_string(getpid())) {
    created_ = run({"ip", "netns", "add", name_}) == 0;
  }
  ~Netns() {
    if (created_) run({"ip", "netns", "del", name_});
  }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  bool created() const { return created_; }
  const std::string& name() const { return name_; }
  /// `ip -n NAME args...`
  int ip(std::vector<std::string> args) const {
    args.insert(args.begin(), {"ip", "-n", name_});
    return run(args);
  }

 private:
  std::string name_;
  bool created_ = false;
};

/// Calls `f` on a thread of its own that has entered `ns`, so that this thread's namespace
/// never changes whatever happens. Returns what went wrong, or "".
template <typename F>
std::string inside(const Netns& ns, F f) {
  std::string error;
  std::thread t([&] {
    const int fd = open(("/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      error = "open /run/netns/" + ns.name() + ": " + std::strerror(errno);
      return;
    }
    const int rc = setns(fd, CLONE_NEWNET);
    const int err = errno;
    close(fd);
    if (rc != 0) {
      error = std::string("setns: ") + std::strerror(err);
      return;
    }
    try {
      f();
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  t.join();
  return error;
}

}  // namespace

TEST_CASE("an interface that does not exist has no neighbours") {
  CHECK(netlink::neighbour_mac(ip("10.99.0.2"), "dt-no-such-if") == std::nullopt);
  CHECK(netlink::neighbour_mac(ip("10.99.0.2"), "") == std::nullopt);
}

TEST_CASE("an address without an entry has no MAC, and asking needs no privileges") {
  // Loopback never resolves neighbours: the kernel answers "not found".
  CHECK(netlink::neighbour_mac(ip("127.0.0.2"), "lo") == std::nullopt);
}

TEST_CASE("usable entries give their MAC, others nothing") {
  if (geteuid() != 0) {
    WARN("skipped: needs root");
    return;
  }
  Netns ns;
  REQUIRE(ns.created());
  // A veth pair rather than a dummy interface: dummy is a module not every kernel has.
  REQUIRE(ns.ip({"link", "add", "dt0", "type", "veth", "peer", "name", "dt1"}) == 0);
  REQUIRE(ns.ip({"link", "set", "dt0", "up"}) == 0);
  REQUIRE(ns.ip({"link", "set", "dt1", "up"}) == 0);
  REQUIRE(ns.ip({"addr", "add", "10.99.0.1/24", "dev", "dt0"}) == 0);
  auto neigh = [&](const std::string& addr, const std::string& lladdr, const std::string& nud) {
    std::vector<std::string> args{"neigh", "add", addr};
    if (!lladdr.empty()) args.insert(args.end(), {"lladdr", lladdr});
    args.insert(args.end(), {"dev", "dt0", "nud", nud});
    return ns.ip(args);
  };
  REQUIRE(neigh("10.99.0.2", "02:00:00:00:00:02", "permanent") == 0);
  REQUIRE(neigh("10.99.0.3", "02:00:00:00:00:03", "stale") == 0);
  REQUIRE(neigh("10.99.0.4", "02:00:00:00:00:04", "noarp") == 0);
  REQUIRE(neigh("10.99.0.5", "", "incomplete") == 0);
  REQUIRE(neigh("10.99.0.6", "", "failed") == 0);

  std::optional<util::Mac> permanent, stale, noarp, incomplete, failed, absent, other_iface, no_iface;
  const auto error = inside(ns, [&] {
    permanent = netlink::neighbour_mac(ip("10.99.0.2"), "dt0");
    stale = netlink::neighbour_mac(ip("10.99.0.3"), "dt0");
    noarp = netlink::neighbour_mac(ip("10.99.0.4"), "dt0");
    incomplete = netlink::neighbour_mac(ip("10.99.0.5"), "dt0");
    failed = netlink::neighbour_mac(ip("10.99.0.6"), "dt0");
    absent = netlink::neighbour_mac(ip("10.99.0.9"), "dt0");
    other_iface = netlink::neighbour_mac(ip("10.99.0.2"), "dt1");
    no_iface = netlink::neighbour_mac(ip("10.99.0.2"), "dt9");
  });
  REQUIRE(error == "");
  CHECK(permanent == mac("02:00:00:00:00:02"));
  CHECK(stale == mac("02:00:00:00:00:03"));
  CHECK(noarp == std::nullopt);
  CHECK(incomplete == std::nullopt);
  CHECK(failed == std::nullopt);
  CHECK(absent == std::nullopt);
  CHECK(other_iface == std::nullopt);
  CHECK(no_iface == std::nullopt);
}

TEST_CASE("one table answers question after question on one socket") {
  if (geteuid() != 0) {
    WARN("skipped: needs root");
    return;
  }
  Netns ns;
  REQUIRE(ns.created());
  auto make = [&] {
    return ns.ip({"link", "add", "dt0", "type", "veth", "peer", "name", "dt1"}) == 0 &&
           ns.ip({"link", "set", "dt0", "up"}) == 0 &&
           ns.ip({"neigh", "add", "10.99.0.2", "lladdr", "02:00:00:00:00:02", "dev", "dt0", "nud", "permanent"}) == 0;
  };
  REQUIRE(make());

  netlink::NeighbourTable table;
  int found = 0, absent = 0, wrong = 0;
  std::optional<util::Mac> after_remake, after_delete, again;
  const auto error = inside(ns, [&] {
    // Hits and misses (a reply, then the kernel's error) interleaved: each answer is the
    // one to its own question, never the one before.
    for (int i = 0; i < 500; ++i) {
      const auto m = table.mac(ip(i % 2 ? "10.99.0.2" : "10.99.0.9"), "dt0");
      if (i % 2 && m == mac("02:00:00:00:00:02"))
        ++found;
      else if (!(i % 2) && !m)
        ++absent;
      else
        ++wrong;
    }
    CHECK(table.mac(ip("127.0.0.1"), "lo") == std::nullopt);  // another interface on the same socket
    // The interface made again under its name has a new index: the first question after
    // may miss, the next finds the new entry.
    if (ns.ip({"link", "del", "dt0"}) != 0 || !make()) throw std::runtime_error("remaking dt0");
    after_remake = table.mac(ip("10.99.0.2"), "dt0");
    after_remake = table.mac(ip("10.99.0.2"), "dt0");
    if (ns.ip({"link", "del", "dt0"}) != 0) throw std::runtime_error("deleting dt0");
    after_delete = table.mac(ip("10.99.0.2"), "dt0");
    after_delete = table.mac(ip("10.99.0.2"), "dt0");
    if (!make()) throw std::runtime_error("making dt0");
    again = table.mac(ip("10.99.0.2"), "dt0");
  });
  REQUIRE(error == "");
  CHECK(found == 250);
  CHECK(absent == 250);
  CHECK(wrong == 0);
  CHECK(after_remake == mac("02:00:00:00:00:02"));
  CHECK(after_delete == std::nullopt);
  CHECK(again == mac("02:00:00:00:00:02"));
}
