// SPDX-License-Identifier: GPL-2.0-or-later
#include "support/catch.h"

#include "actions/actions.h"

using namespace dashctl;
using namespace std::chrono;

namespace {

press::Press event() {
  press::Press p;
  p.button = "bedroom";
  p.first.mac = util::Mac::parse("68:54:FD:12:34:56");
  p.first.ip = *util::Ipv4::parse("10.77.0.201");
  p.first.source = press::Source::dhcp;
  p.first.wall = sys_days{year{2026} / 11 / 22} + 3h + 4min + 5s + 123ms;
  p.number = 42;
  return p;
}

}  // namespace

TEST_CASE("render fills in every placeholder") {
  const auto e = event();
  CHECK(actions::render("{button}", e) == "bedroom");
  CHECK(actions::render("{mac}", e) == "68:54:fd:12:34:56");
  CHECK(actions::render("{ip}", e) == "10.77.0.201");
  CHECK(actions::render("{source}", e) == "dhcp");
  CHECK(actions::render("{count}", e) == "42");
  CHECK(actions::render("{time}", e) == "2026-11-22T03:04:05.123Z");
  CHECK(actions::render(R"({"button":"{button}","n":{count}} {{button})", e) ==
        R"({"button":"bedroom","n":42} {button})");
}

TEST_CASE("render leaves an unknown MAC empty and pads the time") {
  auto e = event();
  e.first.mac.reset();
  e.first.wall = sys_days{year{2027} / 1 / 2} + 7ms;
  CHECK(actions::render("[{mac}]", e) == "[]");
  CHECK(actions::render("{time}", e) == "2027-01-02T00:00:00.007Z");
  // Sub-millisecond parts are cut, not rounded: the time a press happened, not after.
  e.first.wall = sys_days{year{2027} / 12 / 31} + 23h + 59min + 59s + 999ms + 900us;
  CHECK(actions::render("{time}", e) == "2027-12-31T23:59:59.999Z");
}
