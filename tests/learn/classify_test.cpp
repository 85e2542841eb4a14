// SPDX-License-Identifier: GPL-2.0-or-later
// What learn makes of a logged packet: captured DHCP and DNS packets of a simulated button,
// with and without --any, from new devices and from buttons the config knows.

#include "support/catch.h"

#include <cctype>
#include <fstream>
#include <string>
#include <vector>

#include "learn/classify.h"

using namespace dashctl;
using learn::Classifier;
using Kind = learn::Verdict::Kind;

namespace {

std::vector<uint8_t> capture(const std::string& name) {
  std::ifstream in(std::string(DASHCTL_TEST_SOURCE_DIR) + "/nflog/captures/" + name + ".hex");
  std::string hex;
  in >> hex;
  REQUIRE(hex.size() > 40);
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

util::Mac mac(std::string_view text) { return *util::Mac::parse(text); }
util::Ipv4 ip(std::string_view text) { return *util::Ipv4::parse(text); }

// The captures are a simulated button's query for the Amazon endpoint (from 10.77.0.119),
// its query for the NTP host, and its DHCP request (from 0.0.0.0); this is its MAC.
const util::Mac kButton = mac("68:54:fd:12:34:56");

config::Config config_with(std::vector<config::Button> buttons = {}) {
  config::Config c;
  c.network.iot_interface = "br-iot";
  c.intercept.hostnames = {"Dash-Button-NA-AWS-OPF.Amazon.com", "parker-gateway-na.amazon.com"};
  c.buttons = std::move(buttons);
  return c;
}

config::Button button(std::string name, std::optional<util::Mac> m, std::optional<std::string_view> address) {
  config::Button b;
  b.name = std::move(name);
  b.mac = m;
  if (address) b.ip = ip(*address);
  return b;
}

}  // namespace

TEST_CASE("a query for an intercepted name, in whatever case either side writes it, is a new device") {
  const auto endpoint = capture("dns-endpoint");
  const auto c = config_with();
  const Classifier classifier(c, false);
  auto v = classifier.classify(kButton, endpoint);
  CHECK(v.kind == Kind::device);
  CHECK(v.mac == kButton);
  CHECK(v.asked == "A dash-button-na-aws-opf.amazon.com");
  CHECK(v.button == nullptr);
  CHECK(v.contradicted == nullptr);

  // The same query with the name in capitals, as a resolver may send it (0x20 encoding).
  auto upper = endpoint;
  for (size_t i = 20 + 8 + 12; i + 4 < upper.size(); ++i)
    upper[i] = static_cast<uint8_t>(std::toupper(upper[i]));
  v = classifier.classify(kButton, upper);
  CHECK(v.kind == Kind::device);
  CHECK(v.asked == "A dash-button-na-aws-opf.amazon.com");
}

TEST_CASE("a query for a name that is not intercepted is passed over, unless --any") {
  const auto ntp = capture("dns-ntp");
  const auto c = config_with();
  auto v = Classifier(c, false).classify(kButton, ntp);
  CHECK(v.kind == Kind::ignored);
  CHECK(v.why == "68:54:fd:12:34:56 asked A 0.amazon.pool.ntp.org: not an intercepted name");
  v = Classifier(c, true).classify(kButton, ntp);
  CHECK(v.kind == Kind::device);
  CHECK(v.asked == "A 0.amazon.pool.ntp.org");
}

TEST_CASE("a DHCP request qualifies only with --any") {
  const auto dhcp = capture("dhcp");
  const auto c = config_with();
  CHECK(Classifier(c, false).classify(kButton, dhcp).kind == Kind::ignored);
  const auto v = Classifier(c, true).classify(kButton, dhcp);
  CHECK(v.kind == Kind::device);
  CHECK(v.asked == "a DHCP request");
  CHECK(v.mac == kButton);
}

TEST_CASE("no MAC, a multicast or an all-zero MAC is passed over, even with --any") {
  const auto endpoint = capture("dns-endpoint");
  const auto dhcp = capture("dhcp");
  const auto c = config_with();
  const Classifier any(c, true);
  for (const auto& packet : {endpoint, dhcp}) {
    CHECK(any.classify(std::nullopt, packet).kind == Kind::ignored);
    CHECK(any.classify(mac("01:00:5e:00:00:fb"), packet).kind == Kind::ignored);
    CHECK(any.classify(mac("00:00:00:00:00:00"), packet).kind == Kind::ignored);
  }
  CHECK(any.classify(std::nullopt, endpoint).why == "no unicast MAC address");
}

TEST_CASE("what is no DHCP request or DNS query is passed over") {
  const auto endpoint = capture("dns-endpoint");
  const auto c = config_with();
  const Classifier any(c, true);
  CHECK(any.classify(kButton, std::vector<uint8_t>{}).kind == Kind::ignored);
  CHECK(any.classify(kButton, std::span(endpoint.data(), 27)).kind == Kind::ignored);  // truncated
  auto to_other_port = endpoint;
  to_other_port[20 + 3] = 54;  // the UDP destination port, 53 -> 54
  const auto v = any.classify(kButton, to_other_port);
  CHECK(v.kind == Kind::ignored);
  CHECK(v.why == "no DHCP request or DNS query");
}

TEST_CASE("a button the config knows by its MAC is known, wherever it asks from") {
  const auto endpoint = capture("dns-endpoint");
  const auto dhcp = capture("dhcp");
  const auto c = config_with({button("kitchen", kButton, "10.77.0.201")});
  for (const auto& packet : {endpoint, dhcp}) {
    const auto v = Classifier(c, true).classify(kButton, packet);
    CHECK(v.kind == Kind::known);
    REQUIRE(v.button);
    CHECK(v.button->name == "kitchen");
    CHECK(v.mac == kButton);
  }
}

TEST_CASE("a button the config knows by its address only is known from that address") {
  const auto endpoint = capture("dns-endpoint");
  const auto dhcp = capture("dhcp");
  const auto c = config_with({button("hall", std::nullopt, "10.77.0.119")});
  const auto v = Classifier(c, false).classify(kButton, endpoint);
  CHECK(v.kind == Kind::known);
  REQUIRE(v.button);
  CHECK(v.button->name == "hall");
  // A DHCP request comes from 0.0.0.0: no address to know it by, so it is a new device.
  CHECK(Classifier(c, true).classify(kButton, dhcp).kind == Kind::device);
}

TEST_CASE("a MAC that contradicts the button at its address is a new device") {
  const auto endpoint = capture("dns-endpoint");
  const auto c = config_with({button("hall", mac("ac:63:be:00:00:01"), "10.77.0.119")});
  const auto v = Classifier(c, false).classify(kButton, endpoint);
  CHECK(v.kind == Kind::device);
  CHECK(v.button == nullptr);
  REQUIRE(v.contradicted);
  CHECK(v.contradicted->name == "hall");
}
