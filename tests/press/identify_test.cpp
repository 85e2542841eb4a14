// SPDX-License-Identifier: GPL-2.0-or-later
// Who pressed: the lease file's parser, and identification through fake lookups.

#include "support/catch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <chrono>
#include <thread>
#include <map>
#include <string>
#include <vector>

#include "press/identify.h"
#include "support/tmpdir.h"
#include "util/error.h"
#include "util/fs.h"

using namespace dashctl;
using namespace dashctl::press;

namespace {

util::Ipv4 ip(std::string_view text) { return *util::Ipv4::parse(text); }
util::Mac mac(std::string_view text) { return *util::Mac::parse(text); }

// What dnsmasq 2.89 writes with DHCPv4 and DHCPv6 leases, plus damage of every kind.
const char* kLeases =
    "1717171717 68:54:fd:12:34:56 10.77.0.201 bedroom 01:68:54:fd:12:34:56\n"
    "0 ac:63:be:00:00:02 10.77.0.202 * *\n"
    "garbage\n"
    "\n"
    "1717171717 not-a-mac 10.77.0.203 x *\n"
    "1717171717 06-00:11:22:33:44 10.77.0.204 token-ring *\n"
    "soon 02:00:00:00:00:05 10.77.0.205 * *\n"
    "1717171717 02:00:00:00:00:06 10.77.0.2066 * *\n"
    "1717171717 02:00:00:00:00:07\n"
    "duid 00:01:00:01:2c:5e:1a:2b:52:54:00:12:34:56\n"
    "1717171717 305419896 fd00::208 phone 00:01:00:01:2c:5e:1a:2b:52:54:00:ab:cd:ef\n"
    "1717171717 50:f5:da:00:00:09 10.77.0.209 kitchen *";  // no final newline

TEST_CASE("the lease file gives the MAC of an address") {
  CHECK(mac_from_leases(kLeases, ip("10.77.0.201")) == mac("68:54:fd:12:34:56"));
  CHECK(mac_from_leases(kLeases, ip("10.77.0.202")) == mac("ac:63:be:00:00:02"));  // expiry 0: infinite
  CHECK(mac_from_leases(kLeases, ip("10.77.0.209")) == mac("50:f5:da:00:00:09"));
  CHECK(mac_from_leases(kLeases, ip("10.77.0.250")) == std::nullopt);
}

TEST_CASE("the lease file's malformed, non-Ethernet, duid and IPv6 lines are skipped") {
  CHECK(mac_from_leases(kLeases, ip("10.77.0.203")) == std::nullopt);  // not a MAC
  CHECK(mac_from_leases(kLeases, ip("10.77.0.204")) == std::nullopt);  // hardware type 6
  CHECK(mac_from_leases(kLeases, ip("10.77.0.205")) == std::nullopt);  // expiry not a number
  CHECK(mac_from_leases(kLeases, ip("10.77.0.206")) == std::nullopt);  // not an address
  CHECK(mac_from_leases(kLeases, ip("10.77.0.207")) == std::nullopt);  // too short
  CHECK(mac_from_leases("", ip("10.77.0.201")) == std::nullopt);
  CHECK(mac_from_leases("\n\n  \n", ip("10.77.0.201")) == std::nullopt);
  CHECK(mac_from_leases("1717171717 68:54:fd:12:34:56 10.77.0.201 bedroom *\r\n", ip("10.77.0.201")) ==
        mac("68:54:fd:12:34:56"));
}

/// Fakes for the kernel's neighbour table and the file system, recording what was asked.
struct World {
  std::map<util::Ipv4, util::Mac> neighbours;
  bool neighbours_fail = false;
  std::map<std::string, std::string> files;
  bool files_fail = false;
  std::vector<std::string> asked;  // "neigh IP IFACE" and "read PATH", in order

  Identifier identifier() {
    return Identifier(
        [this](util::Ipv4 a, const std::string& iface) -> std::optional<util::Mac> {
          asked.push_back("neigh " + a.str() + " " + iface);
          if (neighbours_fail) throw util::Error(util::Exit::os, "netlink: looking up: No buffer space available");
          auto it = neighbours.find(a);
          if (it == neighbours.end()) return std::nullopt;
          return it->second;
        },
        [this](const std::string& path, util::Ipv4 a) -> std::optional<util::Mac> {
          asked.push_back("read " + path);
          if (files_fail) throw util::Error(util::Exit::no_perm, path + ": Permission denied");
          auto it = files.find(path);
          if (it == files.end()) return std::nullopt;
          return mac_from_leases(it->second, a);
        });
  }
};

config::Button button(std::string name, std::optional<std::string_view> m, std::optional<std::string_view> a) {
  config::Button b;
  b.name = std::move(name);
  if (m) b.mac = mac(*m);
  if (a) b.ip = ip(*a);
  return b;
}

config::Config sample() {
  config::Config c;
  c.network.iot_interface = "br-iot";
  c.dnsmasq.leases_file = "/var/lib/misc/dnsmasq.leases";
  c.buttons.push_back(button("bedroom", "68:54:fd:12:34:56", "10.77.0.201"));
  c.buttons.push_back(button("kitchen", "50:f5:da:00:00:09", std::nullopt));  // MAC only
  c.buttons.push_back(button("hall", std::nullopt, "10.77.0.203"));           // address only
  return c;
}

const char* name_of(const Identity& id) { return id.button ? id.button->name.c_str() : "(unknown)"; }

}  // namespace

TEST_CASE("a MAC the source already knows is used as is") {
  World w;
  const auto c = sample();
  auto id = w.identifier().identify(c, ip("10.77.0.99"), mac("50:f5:da:00:00:09"));
  CHECK(std::string(name_of(id)) == "kitchen");
  CHECK(id.button == &c.buttons[1]);
  CHECK(id.mac == mac("50:f5:da:00:00:09"));
  CHECK(w.asked.empty());
}

TEST_CASE("the neighbour table is asked first, on the IoT interface") {
  World w;
  w.neighbours[ip("10.77.0.150")] = mac("50:f5:da:00:00:09");
  w.files[sample().dnsmasq.leases_file] = "0 02:00:00:00:00:01 10.77.0.150 * *\n";
  const auto c = sample();
  auto id = w.identifier().identify(c, ip("10.77.0.150"), std::nullopt);
  CHECK(std::string(name_of(id)) == "kitchen");
  CHECK(id.mac == mac("50:f5:da:00:00:09"));
  CHECK(w.asked == std::vector<std::string>{"neigh 10.77.0.150 br-iot"});
}

TEST_CASE("the lease file is asked when the neighbour table has no entry") {
  World w;
  w.files["/var/lib/misc/dnsmasq.leases"] = kLeases;
  const auto c = sample();
  auto id = w.identifier().identify(c, ip("10.77.0.209"), std::nullopt);
  CHECK(std::string(name_of(id)) == "kitchen");
  CHECK(id.mac == mac("50:f5:da:00:00:09"));
  CHECK(w.asked == std::vector<std::string>{"neigh 10.77.0.209 br-iot", "read /var/lib/misc/dnsmasq.leases"});
}

TEST_CASE("the lease file is asked when the neighbour lookup fails") {
  World w;
  w.neighbours_fail = true;
  w.files["/var/lib/misc/dnsmasq.leases"] = kLeases;
  const auto c = sample();
  auto id = w.identifier().identify(c, ip("10.77.0.209"), std::nullopt);
  CHECK(std::string(name_of(id)) == "kitchen");
  CHECK(w.asked.size() == 2);
}

TEST_CASE("the static address names the button when no MAC matches") {
  const auto c = sample();
  SECTION("no MAC anywhere, and no lease file") {
    World w;
    auto id = w.identifier().identify(c, ip("10.77.0.203"), std::nullopt);
    CHECK(std::string(name_of(id)) == "hall");
    CHECK(id.mac == std::nullopt);
  }
  SECTION("a MAC that is no button's") {
    World w;
    auto id = w.identifier().identify(c, ip("10.77.0.203"), mac("02:00:00:00:00:03"));
    CHECK(std::string(name_of(id)) == "hall");
    CHECK(id.mac == mac("02:00:00:00:00:03"));
  }
  SECTION("the lease file cannot be read") {
    World w;
    w.files_fail = true;
    auto id = w.identifier().identify(c, ip("10.77.0.201"), std::nullopt);
    CHECK(std::string(name_of(id)) == "bedroom");
  }
}

TEST_CASE("a MAC match wins over another button's address") {
  World w;
  const auto c = sample();
  // Bedroom's MAC turns up at hall's static address.
  auto id = w.identifier().identify(c, ip("10.77.0.203"), mac("68:54:fd:12:34:56"));
  CHECK(std::string(name_of(id)) == "bedroom");
  w.neighbours[ip("10.77.0.203")] = mac("68:54:fd:12:34:56");
  id = w.identifier().identify(c, ip("10.77.0.203"), std::nullopt);
  CHECK(std::string(name_of(id)) == "bedroom");
}

TEST_CASE("a MAC that contradicts the button at the address is another device") {
  World w;
  const auto c = sample();
  // Bedroom is 68:54:fd:12:34:56 at 10.77.0.201; another device took its address.
  auto id = w.identifier().identify(c, ip("10.77.0.201"), mac("02:00:00:00:00:66"));
  CHECK(id.button == nullptr);
  CHECK(id.contradicted == &c.buttons[0]);
  CHECK(id.mac == mac("02:00:00:00:00:66"));
  // The same, found in the neighbour table rather than given by the source.
  w.neighbours[ip("10.77.0.201")] = mac("02:00:00:00:00:66");
  id = w.identifier().identify(c, ip("10.77.0.201"), std::nullopt);
  CHECK(id.button == nullptr);
  CHECK(id.contradicted == &c.buttons[0]);
  // No MAC to be found: the address is all there is, and it names the button.
  World none;
  id = none.identifier().identify(c, ip("10.77.0.201"), std::nullopt);
  CHECK(std::string(name_of(id)) == "bedroom");
  CHECK(id.contradicted == nullptr);
}

TEST_CASE("the identity is completed from the button's config") {
  World w;
  const auto c = sample();
  SECTION("matched by address: the MAC is the configured one") {
    auto id = w.identifier().identify(c, ip("10.77.0.201"), std::nullopt);
    CHECK(std::string(name_of(id)) == "bedroom");
    CHECK(id.mac == mac("68:54:fd:12:34:56"));
    CHECK(id.ip == ip("10.77.0.201"));
  }
  SECTION("a DHCP request from 0.0.0.0: the address is the static one") {
    auto id = w.identifier().identify(c, ip("0.0.0.0"), mac("68:54:fd:12:34:56"));
    CHECK(std::string(name_of(id)) == "bedroom");
    CHECK(id.ip == ip("10.77.0.201"));
    id = w.identifier().identify(c, ip("0.0.0.0"), mac("50:f5:da:00:00:09"));  // kitchen has none
    CHECK(std::string(name_of(id)) == "kitchen");
    CHECK(id.ip == ip("0.0.0.0"));
  }
  SECTION("0.0.0.0 names no button by address") {
    auto with_zero = c;
    with_zero.buttons.push_back(button("zero", std::nullopt, "0.0.0.0"));
    CHECK(w.identifier().identify(with_zero, ip("0.0.0.0"), std::nullopt).button == nullptr);
  }
  SECTION("an unknown device keeps its own address") {
    auto id = w.identifier().identify(c, ip("10.77.0.99"), mac("02:00:00:00:00:99"));
    CHECK(id.button == nullptr);
    CHECK(id.ip == ip("10.77.0.99"));
  }
}

TEST_CASE("match: by MAC, else by address without a contradicting MAC") {
  const auto c = sample();
  const config::Button* contradicted = nullptr;
  CHECK(match(c, mac("50:f5:da:00:00:09"), ip("10.77.0.203"), &contradicted) == &c.buttons[1]);
  CHECK(contradicted == nullptr);
  CHECK(match(c, std::nullopt, ip("10.77.0.201")) == &c.buttons[0]);
  CHECK(match(c, mac("68:54:fd:12:34:56"), ip("10.77.0.201")) == &c.buttons[0]);
  CHECK(match(c, mac("02:00:00:00:00:01"), ip("10.77.0.201"), &contradicted) == nullptr);
  CHECK(contradicted == &c.buttons[0]);
  CHECK(match(c, mac("02:00:00:00:00:01"), ip("10.77.0.203"), &contradicted) == &c.buttons[2]);  // hall: no MAC
  CHECK(contradicted == nullptr);
  CHECK(match(c, std::nullopt, ip("10.77.0.99")) == nullptr);
}

TEST_CASE("an unknown device keeps the MAC that was found, for logs and status") {
  World w;
  w.neighbours[ip("10.77.0.77")] = mac("02:00:00:00:00:77");
  const auto c = sample();
  auto id = w.identifier().identify(c, ip("10.77.0.77"), std::nullopt);
  CHECK(id.button == nullptr);
  CHECK(id.mac == mac("02:00:00:00:00:77"));

  id = w.identifier().identify(c, ip("10.77.0.78"), std::nullopt);
  CHECK(id.button == nullptr);
  CHECK(id.mac == std::nullopt);
}

TEST_CASE("a config without buttons identifies nobody") {
  World w;
  config::Config c;
  c.network.iot_interface = "br-iot";
  auto id = w.identifier().identify(c, ip("10.77.0.201"), mac("68:54:fd:12:34:56"));
  CHECK(id.button == nullptr);
}

TEST_CASE("only addresses inside the IoT networks have their MAC looked up") {
  World w;
  w.neighbours[ip("10.77.0.150")] = mac("50:f5:da:00:00:09");
  w.neighbours[ip("192.168.1.5")] = mac("50:f5:da:00:00:09");
  w.files["/var/lib/misc/dnsmasq.leases"] = kLeases;
  auto c = sample();
  c.buttons.push_back(button("lan", std::nullopt, "192.168.1.7"));
  auto identifier = w.identifier();
  identifier.set_networks({*util::Ipv4Prefix::parse("10.77.0.0/24"), *util::Ipv4Prefix::parse("10.78.0.0/16")});

  CHECK(std::string(name_of(identifier.identify(c, ip("10.77.0.150"), std::nullopt))) == "kitchen");
  CHECK(w.asked == std::vector<std::string>{"neigh 10.77.0.150 br-iot"});
  w.asked.clear();
  CHECK(std::string(name_of(identifier.identify(c, ip("10.78.3.4"), std::nullopt))) == "(unknown)");
  CHECK(w.asked == std::vector<std::string>{"neigh 10.78.3.4 br-iot", "read /var/lib/misc/dnsmasq.leases"});
  w.asked.clear();

  // Outside: no question, no MAC; a static address still names its button.
  auto id = identifier.identify(c, ip("192.168.1.5"), std::nullopt);
  CHECK(id.button == nullptr);
  CHECK(id.mac == std::nullopt);
  CHECK(std::string(name_of(identifier.identify(c, ip("192.168.1.7"), std::nullopt))) == "lan");
  CHECK(identifier.identify(c, ip("127.0.0.1"), std::nullopt).button == nullptr);
  // A MAC the source knows is used wherever the address is.
  CHECK(std::string(name_of(identifier.identify(c, ip("127.0.0.1"), mac("50:f5:da:00:00:09")))) == "kitchen");
  CHECK(w.asked.empty());

  identifier.set_networks({});  // none known: every address is asked about
  CHECK(std::string(name_of(identifier.identify(c, ip("192.168.1.5"), std::nullopt))) == "kitchen");
  CHECK(w.asked == std::vector<std::string>{"neigh 192.168.1.5 br-iot"});
}

namespace {

/// Sets a file's modification time `ago` seconds into the past.
void age(const std::string& path, int ago) {
  timespec times[2];
  REQUIRE(clock_gettime(CLOCK_REALTIME, &times[0]) == 0);
  times[0].tv_sec -= ago;
  times[1] = times[0];
  REQUIRE(utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

}  // namespace

TEST_CASE("the lease file is read again only when it changed") {
  test::TempDir dir;
  const auto path = dir / "dnsmasq.leases";
  LeaseFile leases;

  SECTION("missing, then there") {
    CHECK(leases.mac(path, ip("10.77.0.201")) == std::nullopt);
    CHECK(leases.reads() == 0);
    dir.write("dnsmasq.leases", kLeases);
    age(path, 60);
    CHECK(leases.mac(path, ip("10.77.0.201")) == mac("68:54:fd:12:34:56"));
    CHECK(leases.reads() == 1);
  }
  SECTION("an old file is read once for any number of questions") {
    dir.write("dnsmasq.leases", kLeases);
    age(path, 60);
    for (int i = 0; i < 100; ++i) {
      CHECK(leases.mac(path, ip("10.77.0.201")) == mac("68:54:fd:12:34:56"));
      CHECK(leases.mac(path, ip("10.77.0.250")) == std::nullopt);
    }
    CHECK(leases.reads() == 1);

    SECTION("rewritten in place with the same size and an old time: its change time tells") {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the clock's granularity
      std::string next = kLeases;
      next.replace(next.find("68:54:fd:12:34:56"), 17, "68:54:fd:65:43:21");
      {
        // In place, as dnsmasq rewrites its lease file: the same inode.
        FILE* f = std::fopen(path.c_str(), "r+");
        REQUIRE(f != nullptr);
        REQUIRE(std::fwrite(next.data(), 1, next.size(), f) == next.size());
        REQUIRE(std::fclose(f) == 0);
      }
      age(path, 60);
      CHECK(leases.mac(path, ip("10.77.0.201")) == mac("68:54:fd:65:43:21"));
      CHECK(leases.reads() == 2);
    }
    SECTION("replaced by another file") {
      util::write_file_atomic(path, "0 02:00:00:00:00:01 10.77.0.201 * *\n");
      age(path, 60);
      CHECK(leases.mac(path, ip("10.77.0.201")) == mac("02:00:00:00:00:01"));
      CHECK(leases.reads() == 2);
    }
    SECTION("removed") {
      REQUIRE(::unlink(path.c_str()) == 0);
      CHECK(leases.mac(path, ip("10.77.0.201")) == std::nullopt);
      dir.write("dnsmasq.leases", kLeases);
      age(path, 60);
      CHECK(leases.mac(path, ip("10.77.0.201")) == mac("68:54:fd:12:34:56"));
      CHECK(leases.reads() == 2);
    }
    SECTION("another path") {
      const auto other = dir.write("other.leases", "0 02:00:00:00:00:01 10.77.0.201 * *\n");
      CHECK(leases.mac(other, ip("10.77.0.201")) == mac("02:00:00:00:00:01"));
      CHECK(leases.reads() == 2);
    }
  }
  SECTION("a file modified less than 2 s ago is read on each question until it is older") {
    dir.write("dnsmasq.leases", kLeases);
    for (int i = 0; i < 3; ++i) CHECK(leases.mac(path, ip("10.77.0.201")) == mac("68:54:fd:12:34:56"));
    CHECK(leases.reads() == 3);
  }
}
