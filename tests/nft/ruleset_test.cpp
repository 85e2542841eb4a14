// SPDX-License-Identifier: GPL-2.0-or-later
// The ruleset: built from the config, rendered as nft text, and every rule encoded with
// libnftnl, parsed back and compared with golden text in nft's own debug format
// (`nft --debug=netlink`). No kernel, no root.
//
// DASHCTL_UPDATE_GOLDEN=1 rewrites the golden files, and the cases that would have compared
// them are skipped; review the diff before committing.

#include "support/catch.h"

#include <algorithm>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "config/parse.h"
#include "nft/kernel.h"
#include "nft/ruleset.h"

using namespace dashctl;

namespace {

config::Config parse(const std::string& text) {
  config::Config c;
  std::vector<config::Diagnostic> problems;
  config::parse_main(text, "t.toml", c, problems);
  for (const auto& p : problems) FAIL(p.str());
  return c;
}

const std::string kLab = R"([network]
iot_interface = "br-iot"
listen_address = "10.77.0.1"
listen_port = 1443
intercept_ports = [443, 8443]
forward_allow = [
  { to = "10.78.0.5", proto = "tcp", port = 8123 },
  { to = "10.78.1.0/24" },
]

[[button]]
name = "btn1"
mac = "02:00:00:77:00:01"

[[button]]
name = "by-address"
ip = "10.77.0.202"
)";

std::string golden_path(const std::string& name) {
  return std::string(DASHCTL_TEST_SOURCE_DIR) + "/nft/golden/" + name;
}

void compare_golden(const std::string& name, const std::string& actual) {
  const auto path = golden_path(name);
  if (const char* u = std::getenv("DASHCTL_UPDATE_GOLDEN"); u && *u == '1') {
    std::ofstream out(path);
    out << actual;
    out.close();
    REQUIRE(out.good());
    // Nothing was compared: CTest reports the case as skipped when it sees this line
    // (SKIP_REGULAR_EXPRESSION in tests/CMakeLists.txt).
    std::cout << "skipped: DASHCTL_UPDATE_GOLDEN=1 rewrote " << path << ", compared nothing\n";
    return;
  }
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream want;
  want << in.rdbuf();
  CHECK(actual == want.str());
}

std::string encoded_text(const nft::Ruleset& rs) {
  std::ostringstream out;
  for (const auto& c : rs.chains) {
    for (const auto& r : c.rules) {
      out << rs.family << " " << rs.table << " " << c.name << ": " << nft::to_text(r) << "\n";
      for (const auto& line : nft::encode(rs, c, r)) out << "  " << line << "\n";
    }
  }
  return out.str();
}

}  // namespace

TEST_CASE("the lab's ruleset encodes exactly as nft encodes the same rules") {
  compare_golden("lab.netlink", encoded_text(nft::build(parse(kLab))));
}

TEST_CASE("the lab's ruleset as nft text") {
  compare_golden("lab.nft", nft::to_text(nft::build(parse(kLab))));
}

TEST_CASE("learn's table encodes exactly as nft encodes the same rules") {
  const auto rs = nft::build_learn(parse(kLab));
  CHECK(rs.table == "dashctl-learn");
  compare_golden("learn.netlink", encoded_text(rs));
  compare_golden("learn.nft", nft::to_text(rs));
}

TEST_CASE("buttons with a MAC have their DHCP and DNS logged and others do not") {
  auto c = parse(kLab);
  const auto input = nft::build(c).chains[1];
  REQUIRE(input.rules.size() >= 2);
  for (int i = 0; i < 2; ++i) {
    CHECK(input.rules[i].verdict == nft::Verdict::log);
    CHECK(input.rules[i].log_group == 2716);
    CHECK(input.rules[i].ether_saddr == util::Mac::parse("02:00:00:77:00:01"));
  }
  CHECK(input.rules[2].verdict != nft::Verdict::log);  // the button known by address has none
  c.network.nflog_group = 7;
  CHECK(nft::build(c).chains[1].rules[0].log_group == 7);
  CHECK(nft::learn_group(c) == 8);
}

TEST_CASE("the chains follow the config's switches") {
  auto c = parse(kLab);
  auto rs = nft::build(c);
  REQUIRE(rs.chains.size() == 3);
  CHECK(rs.chains[0].name == "prerouting");
  CHECK(rs.chains[0].priority == -100);
  CHECK(rs.chains[0].rules.size() == 5);  // two intercept ports, NTP, DNS over udp and tcp
  CHECK(nft::to_text(rs.chains[0].rules[2]) == "iifname \"br-iot\" udp dport 123 redirect to :1123");
  const auto& input = rs.chains[1].rules;
  CHECK(std::count_if(input.begin(), input.end(), [](const nft::Rule& r) {
          return nft::to_text(r) == "iifname \"br-iot\" udp dport 1123 accept";
        }) == 1);
  CHECK(rs.chains[1].rules.back().verdict == nft::Verdict::reject_admin);
  CHECK(rs.chains[2].rules.size() == 4);  // two allowances, two rejects

  c.network.force_dns = false;
  rs = nft::build(c);
  CHECK(rs.chains[0].rules.size() == 3);

  c.network.ntp = false;  // no redirect, and the responder's port is not opened
  rs = nft::build(c);
  CHECK(rs.chains[0].rules.size() == 2);
  for (const auto& r : rs.chains[1].rules) CHECK(r.dport != std::optional<uint16_t>(1123));

  c.network.isolate = false;
  rs = nft::build(c);
  REQUIRE(rs.chains.size() == 2);  // no forward chain
  for (const auto& r : rs.chains[1].rules)  // the press log rules stay: the nflog source needs them
    CHECK((r.verdict == nft::Verdict::accept || r.verdict == nft::Verdict::log));
}

TEST_CASE("the expected table compares equal to itself and names what differs") {
  const auto rs = nft::build(parse(kLab));
  const auto want = nft::expected(rs);
  CHECK(nft::differences(want, want).empty());
  auto have = want;
  have.chains[1].rules.pop_back();
  have.chains[2].rules[0].back() = "[ immediate reg 0 drop ]";
  have.chains.push_back({"extra", "filter", "output", "accept", 0, {}});
  const auto diff = nft::differences(want, have);
  CHECK(diff == std::vector<std::string>{"chain input has 9 rules, not 10", "chain forward: rule 1 has [ immediate reg 0 drop ] where [ immediate reg 0 accept ] belongs",
                                         "chain extra is not dashctl's"});
  have = want;
  have.chains.erase(have.chains.begin());
  CHECK(nft::differences(want, have) == std::vector<std::string>{"chain prerouting is missing"});
}
