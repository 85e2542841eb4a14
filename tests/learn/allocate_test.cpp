// SPDX-License-Identifier: GPL-2.0-or-later
// A new button's address and name: what buttons, the listen address and dnsmasq's leases
// already take.

#include "support/catch.h"

#include <chrono>
#include <string>

#include "learn/learn.h"

using namespace dashctl;
using namespace dashctl::learn;

namespace {

util::Ipv4 ip(std::string_view text) { return *util::Ipv4::parse(text); }
util::Mac mac(std::string_view text) { return *util::Mac::parse(text); }

const util::Mac kNew = mac("68:54:fd:00:00:01");  // the button being learnt

config::Config with_range(std::string_view range) {
  config::Config c;
  c.network.iot_interface = "br-iot";
  c.network.listen_address = ip("10.77.0.1");
  c.network.subnet = util::Ipv4Prefix::parse("10.77.0.0/24");
  c.network.lease_range = util::Ipv4Range::parse(range);
  return c;
}

config::Button button(std::string name, std::optional<std::string_view> address = std::nullopt) {
  config::Button b;
  b.name = std::move(name);
  if (address) b.ip = ip(*address);
  return b;
}

}  // namespace

TEST_CASE("the first address of the lease range when nothing takes it") {
  const auto c = with_range("10.77.0.200-10.77.0.249");
  CHECK(next_free_address(c, kNew, "") == ip("10.77.0.200"));
}

TEST_CASE("addresses of buttons are skipped and buttons without one take none") {
  auto c = with_range("10.77.0.200-10.77.0.249");
  c.buttons = {button("b", "10.77.0.201"), button("a", "10.77.0.200"), button("none"),
               button("outside", "10.77.0.5")};
  CHECK(next_free_address(c, kNew, "") == ip("10.77.0.202"));
}

TEST_CASE("a gap between buttons is used before the addresses after them") {
  auto c = with_range("10.77.0.200-10.77.0.249");
  c.buttons = {button("a", "10.77.0.200"), button("c", "10.77.0.202"), button("d", "10.77.0.203")};
  CHECK(next_free_address(c, kNew, "") == ip("10.77.0.201"));
}

TEST_CASE("the listen address is skipped") {
  // The config parser refuses a range holding listen_address; a Config built in code may not.
  auto c = with_range("10.77.0.1-10.77.0.9");
  CHECK(next_free_address(c, kNew, "") == ip("10.77.0.2"));
  c.network.listen_address.reset();  // defaulted from the interface: the caller's to fill in
  CHECK(next_free_address(c, kNew, "") == ip("10.77.0.1"));
}

TEST_CASE("leases of other devices are skipped whatever their expiry") {
  const auto c = with_range("10.77.0.200-10.77.0.249");
  const char* leases =
      "0 ac:63:be:00:00:01 10.77.0.200 * *\n"                      // infinite
      "1 ac:63:be:00:00:02 10.77.0.201 * *\n"                      // long expired: still held
      "4102444800 ac:63:be:00:00:03 10.77.0.202 kitchen 01:ac:63:be:00:00:03\n"
      "1717171717 ac:63:be:00:00:04 10.77.0.50 * *\n";             // outside the range
  CHECK(next_free_address(c, kNew, leases) == ip("10.77.0.203"));
}

TEST_CASE("the device's own lease in the range comes first") {
  auto c = with_range("10.77.0.200-10.77.0.249");
  c.buttons = {button("a", "10.77.0.200")};
  const std::string others = "1717171717 ac:63:be:00:00:01 10.77.0.201 * *\n";
  CHECK(next_free_address(c, kNew, others + "1717171717 68:54:fd:00:00:01 10.77.0.230 * *\n") ==
        ip("10.77.0.230"));
  // The lease file writes MACs in lower case; any case is the same MAC.
  CHECK(next_free_address(c, kNew, others + "0 68:54:FD:00:00:01 10.77.0.231 * *\n") ==
        ip("10.77.0.231"));
  // With two, the lowest.
  CHECK(next_free_address(c, kNew,
                          others + "1 68:54:fd:00:00:01 10.77.0.240 * *\n"
                                   "1 68:54:fd:00:00:01 10.77.0.235 * *\n") == ip("10.77.0.235"));
}

TEST_CASE("the device's own lease is passed over when it is not free or not in the range") {
  auto c = with_range("10.77.0.200-10.77.0.249");
  c.buttons = {button("a", "10.77.0.230")};
  // A button has the address (the device got it before the button's static lease).
  CHECK(next_free_address(c, kNew, "1717171717 68:54:fd:00:00:01 10.77.0.230 * *\n") ==
        ip("10.77.0.200"));
  // Outside the range: dnsmasq's dynamic pool.
  CHECK(next_free_address(c, kNew, "1717171717 68:54:fd:00:00:01 10.77.0.100 * *\n") ==
        ip("10.77.0.200"));
  // Another device holds the same address too.
  CHECK(next_free_address(c, kNew,
                          "1717171717 68:54:fd:00:00:01 10.77.0.240 * *\n"
                          "1717171717 ac:63:be:00:00:01 10.77.0.240 * *\n") == ip("10.77.0.200"));
  // The first free one of two.
  CHECK(next_free_address(c, kNew,
                          "1717171717 68:54:fd:00:00:01 10.77.0.230 * *\n"
                          "1717171717 68:54:fd:00:00:01 10.77.0.245 * *\n") == ip("10.77.0.245"));
}

TEST_CASE("the device's own lease does not take an address from it") {
  // Its lease outside the range is no reason to skip anything inside it.
  const auto c = with_range("10.77.0.200-10.77.0.201");
  CHECK(next_free_address(c, kNew, "0 68:54:fd:00:00:01 10.77.0.100 * *\n") == ip("10.77.0.200"));
}

TEST_CASE("malformed and IPv6 lease lines are skipped") {
  const auto c = with_range("10.77.0.200-10.77.0.209");
  // Only the first line is a lease of another device; the others must not take an address.
  const char* leases =
      "1717171717 ac:63:be:00:00:01 10.77.0.200 first *\r\n"
      "garbage\n"
      "\n"
      "   \t \n"
      "1717171717 not-a-mac 10.77.0.201 x *\n"
      "1717171717 06-00:11:22:33:44 10.77.0.202 token-ring *\n"
      "soon ac:63:be:00:00:03 10.77.0.203 * *\n"
      "-1 ac:63:be:00:00:03 10.77.0.203 * *\n"
      "1717171717 ac:63:be:00:00:04 10.77.0.2044 * *\n"
      "1717171717 ac:63:be:00:00:05\n"
      "1717171717\n"
      "duid 00:01:00:01:2c:5e:1a:2b:52:54:00:12:34:56\n"
      "1717171717 305419896 fd00::208 phone 00:01:00:01:2c:5e:1a:2b:52:54:00:ab:cd:ef\n"
      "1717171717 ac:63:be:00:00:06 10.77.0.201";  // no final newline: still a lease
  CHECK(next_free_address(c, kNew, leases) == ip("10.77.0.202"));
}

TEST_CASE("nothing without a lease range or when the range is full") {
  auto c = with_range("10.77.0.200-10.77.0.201");
  c.buttons = {button("a", "10.77.0.200")};
  CHECK(next_free_address(c, kNew, "1 ac:63:be:00:00:01 10.77.0.201 * *\n") == std::nullopt);
  CHECK(next_free_address(c, kNew, "") == ip("10.77.0.201"));
  c.network.lease_range.reset();
  CHECK(next_free_address(c, kNew, "") == std::nullopt);
}

TEST_CASE("a range of one address and the range's last address") {
  auto c = with_range("10.77.0.250-10.77.0.250");
  CHECK(next_free_address(c, kNew, "") == ip("10.77.0.250"));
  c.buttons = {button("a", "10.77.0.250")};
  CHECK(next_free_address(c, kNew, "") == std::nullopt);
  c = with_range("10.77.0.248-10.77.0.250");
  c.buttons = {button("a", "10.77.0.248"), button("b", "10.77.0.249")};
  CHECK(next_free_address(c, kNew, "") == ip("10.77.0.250"));
}

TEST_CASE("a range ending at 255.255.255.255 neither wraps nor loops") {
  auto c = with_range("255.255.255.254-255.255.255.255");
  c.buttons = {button("a", "255.255.255.254")};
  CHECK(next_free_address(c, kNew, "") == ip("255.255.255.255"));
  c.buttons.push_back(button("b", "255.255.255.255"));
  CHECK(next_free_address(c, kNew, "") == std::nullopt);
  c = with_range("0.0.0.0-255.255.255.255");  // the whole space: the work is the buttons'
  c.network.listen_address.reset();
  c.buttons = {button("a", "0.0.0.0")};
  CHECK(next_free_address(c, kNew, "") == ip("0.0.0.1"));
}

// How fast this is, is the bench's to say: a test that counts seconds fails on a busy machine.
TEST_CASE("a /8 range with 100,000 addresses taken gives the first after them") {
  auto c = with_range("10.0.0.1-10.255.255.254");
  c.network.subnet = util::Ipv4Prefix::parse("10.0.0.0/8");
  c.network.listen_address = ip("10.0.0.1");
  // 100,000 leases from 10.0.0.2 upwards, written from the top so that order cannot help.
  std::string leases;
  for (uint32_t a = ip("10.0.0.2").value + 100'000; a-- > ip("10.0.0.2").value;)
    leases += "0 ac:63:be:00:00:01 " + util::Ipv4{a}.str() + " * *\n";
  CHECK(next_free_address(c, kNew, leases) == util::Ipv4{ip("10.0.0.2").value + 100'000});
}

TEST_CASE("names are button-N with the smallest free N") {
  config::Config c;
  CHECK(free_name(c) == "button-1");
  c.buttons = {button("button-1"), button("button-3")};
  CHECK(free_name(c) == "button-2");
  c.buttons = {button("button-3"), button("button-2"), button("button-1")};
  CHECK(free_name(c) == "button-4");
}

TEST_CASE("names that only look like button-N take nothing") {
  config::Config c;
  c.buttons = {button("button-01"), button("button-0"), button("button-1x"), button("button1"),
               button("kitchen"), button("button-")};
  CHECK(free_name(c) == "button-1");
}

TEST_CASE("a thousand buttons named in order leave the next number") {
  config::Config c;
  for (int n = 1000; n >= 1; --n) c.buttons.push_back(button("button-" + std::to_string(n)));
  CHECK(free_name(c) == "button-1001");
}
