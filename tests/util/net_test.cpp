// SPDX-License-Identifier: GPL-2.0-or-later
#include "support/catch.h"

#include "util/net.h"

using namespace dashctl::util;

TEST_CASE("IPv4 addresses parse as dotted quads only") {
  CHECK(Ipv4::parse("10.77.0.1")->str() == "10.77.0.1");
  CHECK(Ipv4::parse("10.77.0.1")->value == 0x0a4d0001u);
  CHECK_FALSE(Ipv4::parse("10.77.0"));
  CHECK_FALSE(Ipv4::parse("10.77.0.256"));
  CHECK_FALSE(Ipv4::parse("010.77.0.1"));  // no octal surprises
  CHECK_FALSE(Ipv4::parse(" 10.77.0.1"));
  CHECK_FALSE(Ipv4::parse("::1"));
  CHECK_FALSE(Ipv4::parse(""));
}

TEST_CASE("prefixes refuse host bits and suggest the network") {
  std::string why;
  const auto p = Ipv4Prefix::parse("10.77.0.0/24", &why);
  REQUIRE(p);
  CHECK(p->contains(*Ipv4::parse("10.77.0.200")));
  CHECK_FALSE(p->contains(*Ipv4::parse("10.77.1.1")));
  CHECK(p->broadcast().str() == "10.77.0.255");
  CHECK_FALSE(Ipv4Prefix::parse("10.77.0.1/24", &why));
  CHECK(why == "host bits are set (did you mean 10.77.0.0/24?)");
  CHECK_FALSE(Ipv4Prefix::parse("10.77.0.0/33", &why));
  CHECK_FALSE(Ipv4Prefix::parse("10.77.0.0", &why));
  CHECK(Ipv4Prefix::parse("0.0.0.0/0", &why)->contains(*Ipv4::parse("1.2.3.4")));
}

TEST_CASE("ranges are ordered and inclusive") {
  std::string why;
  const auto r = Ipv4Range::parse("10.77.0.200-10.77.0.249", &why);
  REQUIRE(r);
  CHECK(r->contains(*Ipv4::parse("10.77.0.200")));
  CHECK(r->contains(*Ipv4::parse("10.77.0.249")));
  CHECK_FALSE(r->contains(*Ipv4::parse("10.77.0.250")));
  CHECK(r->str() == "10.77.0.200-10.77.0.249");
  CHECK_FALSE(Ipv4Range::parse("10.77.0.249-10.77.0.200", &why));
  CHECK(why == "the range ends before it starts");
  CHECK_FALSE(Ipv4Range::parse("10.77.0.200", &why));
}

TEST_CASE("MAC addresses accept colons or dashes, any case, and print canonically") {
  CHECK(Mac::parse("68:54:FD:12:34:56")->str() == "68:54:fd:12:34:56");
  CHECK(Mac::parse("68-54-fd-12-34-56")->str() == "68:54:fd:12:34:56");
  CHECK_FALSE(Mac::parse("68:54:fd:12:34"));
  CHECK_FALSE(Mac::parse("68:54-fd:12:34:56"));
  CHECK_FALSE(Mac::parse("68:54:fd:12:34:5g"));
  CHECK_FALSE(Mac::parse("+8:54:fd:12:34:56"));
  CHECK(Mac::parse("01:00:5e:00:00:01")->is_multicast());
  CHECK(Mac::parse("00:00:00:00:00:00")->is_zero());
}

TEST_CASE("interface names follow the kernel's rules") {
  CHECK_FALSE(interface_name_problem("br-iot"));
  CHECK_FALSE(interface_name_problem("wlan0.100"));
  CHECK(interface_name_problem(""));
  CHECK(interface_name_problem("a-very-long-name"));  // 16 characters
  CHECK(interface_name_problem("br/iot"));
  CHECK(interface_name_problem("br iot"));
  CHECK(interface_name_problem(".."));
}

TEST_CASE("host names are plain DNS names") {
  CHECK_FALSE(hostname_problem("dash-button-na-aws-opf.amazon.com"));
  CHECK_FALSE(hostname_problem("0.amazon.pool.ntp.org"));
  CHECK(hostname_problem("a..b"));
  CHECK(hostname_problem("-a.b"));
  CHECK(hostname_problem("under_score.com"));
  CHECK(hostname_problem("x.com\naddress=/#/1.2.3.4"));
  CHECK(hostname_problem(std::string(64, 'a') + ".com"));
  CHECK(hostname_problem(""));
}
