// SPDX-License-Identifier: GPL-2.0-or-later
// Vendors from the IEEE registry: the CSV as Debian ships it, damage of every kind, and the
// real file that scripts/bootstrap installs.

#include "support/catch.h"

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "learn/learn.h"
#include "support/tmpdir.h"

using namespace dashctl;
using namespace dashctl::learn;
using dashctl::test::TempDir;
using namespace std::string_literals;
using namespace std::string_view_literals;

namespace {

util::Mac mac(std::string_view text) { return *util::Mac::parse(text); }

using Names = std::vector<std::string>;

/// The names of the prefixes 00:00:01 to 00:00:n, "" for none: the tests below number their
/// records so, and compare the whole table at once.
Names first_prefixes(const Vendors& v, int n) {
  Names out;
  for (int i = 1; i <= n; ++i) {
    util::Mac m;
    m.bytes[2] = static_cast<uint8_t>(i);
    out.push_back(v.lookup(m).value_or(""));
  }
  return out;
}

const std::string kHeader = "Registry,Assignment,Organization Name,Organization Address\r\n";

// Lines in the shapes of the real file (ieee-data 20220827): quoted names with commas and
// doubled quotes, an address spanning lines inside quotes, a name with a trailing tab,
// unquoted fields with quotes in them, all with "\r\n" line ends.
const std::string kRegistry =
    kHeader +
    "MA-L,AC63BE,Amazon Technologies Inc.,P.O Box 8102 Reno NV US 89507 \r\n"
    "MA-L,ACDE48,\"Example, Inc.\",\"1 Road, Town\"\r\n"
    "MA-L,001EFC,\"JSC \"\"MASSA-K\"\"\",\"15, A, Pirogovskaya nab. RU 194044 \"\r\n"
    "MA-L,C404D8,Aviva Links Inc.,\"160 E Tasman Dr\r\nSTE 102 SAN JOSE CA US 95134 \"\r\n"
    "MA-L,E0CA3C,\"Hangzhou Hikvision Digital Technology Co.,Ltd.\",No.555 Qianmo Road \r\n"
    "MA-L,901234,\"Shenzhen YOUHUA Technology Co., Ltd\t\",Room 407 CN 518055 \r\n"
    "MA-L,4829E4,\"   ZAO \"\"NPK Rotek\"\"\",Prospekt Mira Moscow  RU 129223 \r\n"
    "MA-L,4CA515,Baikal Electronics JSC,\"BC 'RigaLand\"\", Block B\"\r\n";

}  // namespace

TEST_CASE("the registry is read as CSV: quotes and commas and doubled quotes") {
  const auto v = Vendors::parse(kRegistry);
  CHECK(v.size() == 8);
  CHECK(v.lookup(mac("ac:63:be:12:34:56")) == "Amazon Technologies Inc.");
  CHECK(v.lookup(mac("ac:de:48:00:00:01")) == "Example, Inc.");
  CHECK(v.lookup(mac("00:1e:fc:00:00:01")) == "JSC \"MASSA-K\"");
  CHECK(v.lookup(mac("e0:ca:3c:00:00:01")) == "Hangzhou Hikvision Digital Technology Co.,Ltd.");
  // A doubled quote and then a comma inside the quoted address.
  CHECK(v.lookup(mac("4c:a5:15:00:00:01")) == "Baikal Electronics JSC");
}

TEST_CASE("an address that spans lines inside quotes does not end the record") {
  const auto v = Vendors::parse(kRegistry);
  CHECK(v.lookup(mac("c4:04:d8:00:00:01")) == "Aviva Links Inc.");
  // The record after it is read from its own start, not from the address's second line.
  CHECK(v.lookup(mac("e0:ca:3c:00:00:01")) == "Hangzhou Hikvision Digital Technology Co.,Ltd.");
}

TEST_CASE("names lose surrounding white space and keep what is inside") {
  const auto v = Vendors::parse(kRegistry);
  CHECK(v.lookup(mac("90:12:34:00:00:01")) == "Shenzhen YOUHUA Technology Co., Ltd");
  CHECK(v.lookup(mac("48:29:e4:00:00:01")) == "ZAO \"NPK Rotek\"");
  const auto w = Vendors::parse(kHeader + "MA-L,000001,  Two  Spaces  ,x\r\n");
  CHECK(first_prefixes(w, 1) == Names{"Two  Spaces"});
}

TEST_CASE("control characters in a name become spaces so that it stays one line") {
  // The verb may write the vendor into a TOML comment, where a line end would start config.
  const auto v = Vendors::parse(
      "MA-L,000001,\"Evil\ninjected = true\",x\n"
      "MA-L,000002,\"Tab\there\x7f\",x\n"
      "MA-L,000003,\"\r\n\t \",x\n");
  CHECK(first_prefixes(v, 3) == Names{"Evil injected = true", "Tab here", ""});
}

TEST_CASE("\\n and \\r\\n line ends and a missing final line end are all read") {
  const auto v = Vendors::parse("MA-L,000001,Unix,x\nMA-L,000002,Dos,x\r\nMA-L,000003,Last,x");
  CHECK(first_prefixes(v, 3) == Names{"Unix", "Dos", "Last"});
  const auto q = Vendors::parse("MA-L,000004,\"Quoted last\",\"x\"");
  CHECK(q.lookup(mac("00:00:04:00:00:00")) == "Quoted last");
}

TEST_CASE("records that are not MA-L assignments with six hex digits are skipped") {
  const auto v = Vendors::parse(
      kHeader +
      "MA-M,000001,Medium block,x\r\n"
      "IAB,000002,Individual block,x\r\n"
      "ma-l,000003,Lower case registry,x\r\n"
      " MA-L,000004,Space before registry,x\r\n"
      "MA-L,00005,Five digits,x\r\n"
      "MA-L,0000006,Seven digits,x\r\n"
      "MA-L,00000G,Not hex,x\r\n"
      "MA-L,0x0008,C prefix,x\r\n"
      "MA-L, 00009,Space in assignment,x\r\n"
      "MA-L,00:00:0A,Colons,x\r\n"
      "MA-L,00000B,,x\r\n"
      "MA-L,00000C,   ,x\r\n"
      "MA-L,00000D,Three fields\r\n"
      "MA-L,00000E,Five fields,x,y\r\n"
      "MA-L,00000F\r\n"
      "MA-L\r\n"
      "\r\n"
      "\n"
      ",,,\r\n"
      "MA-L,a4b5c6,Lower case hex,x\r\n");
  CHECK(v.size() == 1);
  CHECK(v.lookup(mac("a4:b5:c6:00:00:00")) == "Lower case hex");
  CHECK(first_prefixes(v, 15) == Names(15, ""));
}

TEST_CASE("text after a closing quote costs the rest of its line") {
  const auto v = Vendors::parse(
      "MA-L,000001,\"Text after\" the quote,x\n"
      "MA-L,000002,Good two,x\n"
      "MA-L,000003, \"Space before the quote, then a comma\",x\n"
      "MA-L,000004,Good four,x\n"
      "MA-L,000005,A \"quote\" inside,x\n"
      "MA-L,000006,\"Carriage return alone\"\r"
      "MA-L,000007,Same line as six,x\n"
      "MA-L,000008,Good eight,x\n");
  // Not valid RFC 4180 but unambiguous: a quote inside an unquoted field (5) is kept.
  // Three has five fields; seven is on the line of six.
  CHECK(first_prefixes(v, 8) ==
        Names{"", "Good two", "", "Good four", "A \"quote\" inside", "", "", "Good eight"});
}

TEST_CASE("a quote that is never closed costs its own line") {
  const auto v = Vendors::parse(
      "MA-L,000001,Good one,x\n"
      "MA-L,000002,Never closed,\"x\n"
      "MA-L,000003,Good three,x\n"
      "MA-L,000004,Good four,x");
  CHECK(first_prefixes(v, 4) == Names{"Good one", "", "Good three", "Good four"});
  // What is lost is the record, from its start to the line of its unclosed quote.
  const auto w = Vendors::parse(
      "MA-L,000001,\"Never closed\n"
      "MA-L,000002,Good two,x\n");
  CHECK(first_prefixes(w, 2) == Names{"", "Good two"});
  const auto x = Vendors::parse(
      "MA-L,000001,Two lines,\"a\nb\",\"c\n"
      "MA-L,000002,Good two,x\n");
  CHECK(first_prefixes(x, 2) == Names{"", "Good two"});
}

TEST_CASE("a stray quote pairs with the next one and the lines between are lost") {
  // As in any CSV reader: the stray quote opens a field that the next quote closes, and the
  // text after that one is the error. The records after that line are read again.
  const auto v = Vendors::parse(
      "MA-L,000001,Stray,\"x\n"
      "MA-L,000002,Inside the stray field,x\n"
      "MA-L,000003,\"Its quote ends the stray field\",x\n"
      "MA-L,000004,Good four,x\n");
  CHECK(first_prefixes(v, 4) == Names{"", "", "", "Good four"});
}

TEST_CASE("a prefix listed twice keeps its first name") {
  // The real file lists 08:00:30 three times and 00:01:C8 twice.
  const auto v = Vendors::parse(
      "MA-L,080030,NETWORK RESEARCH CORPORATION,x\n"
      "MA-L,080030,ROYAL MELBOURNE INST OF TECH,x\n"
      "MA-L,080030,CERN,x\n");
  CHECK(v.size() == 1);
  CHECK(v.lookup(mac("08:00:30:00:00:01")) == "NETWORK RESEARCH CORPORATION");
}

TEST_CASE("only the first three bytes of a MAC choose its vendor") {
  const auto v = Vendors::parse(kRegistry);
  CHECK(v.lookup(mac("ac:63:be:00:00:00")) == "Amazon Technologies Inc.");
  CHECK(v.lookup(mac("AC-63-BE-FF-FF-FF")) == "Amazon Technologies Inc.");
  CHECK(v.lookup(mac("ac:63:bf:00:00:00")) == std::nullopt);
  CHECK(v.lookup(mac("00:ac:63:be:00:00")) == std::nullopt);
  CHECK(v.lookup(mac("00:00:00:00:00:00")) == std::nullopt);
}

TEST_CASE("locally administered addresses have no vendor") {
  // 02:07:01 and AA:00:00 are real, early assignments with the bit set; a MAC with the bit
  // set is one a device made up (randomised Wi-Fi addresses), whoever holds the prefix.
  const auto v = Vendors::parse(
      "MA-L,020701,RACAL-DATACOM,x\n"
      "MA-L,AA0000,DIGITAL EQUIPMENT CORPORATION,x\n"
      "MA-L,AE63BE,Made up,x\n"
      "MA-L,AC63BE,Amazon Technologies Inc.,x\n");
  CHECK(v.size() == 4);
  CHECK(v.lookup(mac("02:07:01:00:00:01")) == std::nullopt);
  CHECK(v.lookup(mac("aa:00:00:00:00:01")) == std::nullopt);
  CHECK(v.lookup(mac("ae:63:be:00:00:01")) == std::nullopt);  // AC:63:BE with the bit set
  CHECK(v.lookup(mac("ac:63:be:00:00:01")) == "Amazon Technologies Inc.");
}

TEST_CASE("every truncation of the registry parses without reading past its end") {
  // Under ASan (the test build) a read past the end of the view is an error; the copy makes
  // the end of each truncation the end of its own allocation.
  for (size_t n = 0; n <= kRegistry.size(); ++n) {
    const std::string cut = kRegistry.substr(0, n);
    const auto v = Vendors::parse(cut);
    CHECK(v.size() <= 8);
  }
  CHECK(Vendors::parse("").size() == 0);
  CHECK(Vendors::parse("\"").size() == 0);
  CHECK(Vendors::parse("\"\"").size() == 0);
  CHECK(Vendors::parse(",").size() == 0);
  CHECK(Vendors::parse("\r").size() == 0);
  const auto nul = Vendors::parse("MA-L,000001,Nul\0byte,x\n"s);
  CHECK(first_prefixes(nul, 1) == Names{"Nul byte"});
}

TEST_CASE("random bytes and quote storms are read in linear time") {
  // Resynchronising after a bad quote must never add up to reading the input once per line.
  // Each input is one to a few MB; quadratic work would take hours.
  std::mt19937 rng(2716);
  std::vector<std::string> storms;
  for (std::string_view alphabet : {"\"\",\n\raA0"sv, "\"\n"sv, "\"\",\na"sv, "\"a\n\n\n\n\n"sv}) {
    std::string random;
    for (int i = 0; i < 1'000'000; ++i) random.push_back(alphabet[rng() % alphabet.size()]);
    storms.push_back(std::move(random));
  }
  std::string closing, escaped, open, spans, fields;
  for (int i = 0; i < 200'000; ++i) {
    // One valid record of 200,000 quoted fields over as many lines, ended by a bad quote:
    // a reader that restarts on the line after the record's start reads it once per line.
    fields += "\"\na\",";
    closing += "MA-L,000001,\"x\n";    // each line's quote closes the one before, then text
    escaped += "MA-L,000002,\"\"\"x\n";  // an escaped quote, then as above
    open += i == 0 ? "\"\n" : "\"\"\n";  // one quote never closed, then only doubled ones
  }
  // Long quoted spans that each end in a bad quote, every line inside reread after it.
  for (int i = 0; i < 2'000; ++i) spans += "MA-L,000003,\"\n" + std::string(100, '\n') + "\"x\n";
  fields += "\"x";
  for (auto* s : {&closing, &escaped, &open, &spans, &fields}) storms.push_back(std::move(*s));
  // A reader that rereads would take hours over these, and the test's timeout would end it;
  // the time itself is not asserted (a test that counts seconds fails on a busy machine).
  for (const auto& input : storms) CHECK(Vendors::parse(input).size() <= 1);
}

TEST_CASE("load reads a registry file") {
  TempDir dir;
  const auto v = Vendors::load(dir.write("oui.csv", kRegistry));
  CHECK(v.size() == 8);
  CHECK(v.lookup(mac("ac:63:be:00:00:01")) == "Amazon Technologies Inc.");
}

TEST_CASE("a missing or unreadable registry is an empty one") {
  TempDir dir;
  CHECK(Vendors::load(dir / "missing.csv").size() == 0);
  CHECK(Vendors::load(dir.path()).size() == 0);  // a directory: read(2) fails with EISDIR
  CHECK(Vendors::load(dir / "missing/oui.csv").size() == 0);
}

TEST_CASE("the real registry knows the Amazon prefixes of Dash buttons") {
  // scripts/bootstrap installs ieee-data; without it this test has nothing to say.
  REQUIRE(std::filesystem::exists(kOuiCsv));
  const auto v = Vendors::load();
  CHECK(v.size() > 30000);
  // Prefixes seen on Dash buttons, as /usr/share/ieee-data/oui.csv names them.
  CHECK(v.lookup(mac("ac:63:be:12:34:56")) == "Amazon Technologies Inc.");
  CHECK(v.lookup(mac("68:54:fd:12:34:56")) == "Amazon Technologies Inc.");
  CHECK(v.lookup(mac("50:f5:da:12:34:56")) == "Amazon Technologies Inc.");
  CHECK(v.lookup(mac("fc:65:de:12:34:56")) == "Amazon Technologies Inc.");
  // The file's own hard cases: quotes, a trailing tab, an address over two lines and the
  // record after it.
  CHECK(v.lookup(mac("00:1e:fc:00:00:01")) == "JSC \"MASSA-K\"");
  CHECK(v.lookup(mac("90:12:34:00:00:01")) == "Shenzhen YOUHUA Technology Co., Ltd");
  CHECK(v.lookup(mac("c4:04:d8:00:00:01")) == "Aviva Links Inc.");
  CHECK(v.lookup(mac("e0:ca:3c:00:00:01")) == "Hangzhou Hikvision Digital Technology Co.,Ltd.");
  CHECK(v.lookup(mac("08:00:30:00:00:01")) == "NETWORK RESEARCH CORPORATION");
  CHECK(v.lookup(mac("02:07:01:00:00:01")) == std::nullopt);  // listed, but locally administered
}
