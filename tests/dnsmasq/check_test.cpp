// SPDX-License-Identifier: GPL-2.0-or-later
// The drop-in is checked by the real dnsmasq before it is installed.

#include "support/catch.h"

#include <filesystem>

#include "dnsmasq/files.h"
#include "dnsmasq/sample.h"
#include "support/tmpdir.h"
#include "util/error.h"
#include "util/fs.h"

using namespace dashctl;
using namespace dashctl::dnsmasq;
using dashctl::test::kHelper;
using dashctl::test::kListen;
using dashctl::test::TempDir;

namespace {

size_t entries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

}  // namespace

TEST_CASE("dnsmasq --test accepts the rendered drop-in and rejects a broken one") {
  const auto dnsmasq = find_dnsmasq();
  if (!dnsmasq) {
    WARN("skipped: dnsmasq is not installed");
    return;
  }
  TempDir dir;
  const auto c = test::sample_config(dir / "dnsmasq.d", dir.path());
  const std::string shown = "/etc/dnsmasq.d/dashctl.conf";

  // The files it names do not exist yet: dnsmasq --test does not open them.
  CHECK_NOTHROW(check_dropin(*dnsmasq, render(c, kListen, kHelper).dropin.content, dir.path(), shown));
  CHECK(entries(dir.path()) == 0);

  try {
    check_dropin(*dnsmasq, kMarker + "\naddn-hosts=/x\nno-such-option=1\n", dir.path(), shown);
    FAIL("accepted");
  } catch (const util::Error& e) {
    CHECK(e.code() == util::Exit::data);
    // dnsmasq's own words, about the file the user will see.
    CHECK(std::string(e.what()) == "dnsmasq rejects the drop-in: bad option at line 3 of " + shown);
  }
  CHECK(entries(dir.path()) == 0);
}

TEST_CASE("apply writes nothing when dnsmasq rejects the drop-in") {
  const auto dnsmasq = find_dnsmasq();
  if (!dnsmasq) {
    WARN("skipped: dnsmasq is not installed");
    return;
  }
  TempDir dir;
  std::filesystem::create_directory(dir / "dnsmasq.d");
  const auto c = test::sample_config(dir / "dnsmasq.d", dir / "state");
  Rendered r = render(c, kListen, kHelper);
  r.dropin.content += "dhcp-range=not-a-range\n";
  const Plan plan = plan_setup(r);
  try {
    apply(plan, c);
    FAIL("accepted");
  } catch (const util::Error& e) {
    CHECK(e.code() == util::Exit::data);
    CHECK(std::string(e.what()).find("bad dhcp-range") != std::string::npos);
  }
  CHECK(entries(dir / "dnsmasq.d") == 0);
  CHECK(entries(dir / "state") == 0);
}
