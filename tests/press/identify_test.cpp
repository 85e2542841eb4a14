// Who pressed: the lease file's parser, and identification through fake lookups.

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "press/identify.h"
#include "util/error.h"

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
        [this](const std::string& path) -> std::optional<std::string> {
          asked.push_back("read " + path);
          if (files_fail) throw util::Error(util::Exit::no_perm, path + ": Permission denied");
          auto it = files.find(path);
          if (it == files.end()) return std::nullopt;
          return it->second;
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
