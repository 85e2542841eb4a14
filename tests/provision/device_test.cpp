// SPDX-License-Identifier: GPL-2.0-or-later
// A button's setup pages (FACTS.md, "Setting a button up without Amazon"): the documented
// JSON and HTML samples, pages cut short and hostile ones; the SSID and passphrase rules; the
// request that carries them.

#include "support/catch.h"

#include <string>

#include "provision/device.h"

using namespace dashctl;
using provision::DeviceInfo;

namespace {

// The JSON a button answers to `GET /` with `Content-Type: application/json`: the MAC's raw
// bytes and the SSIDs percent-encoded (one SSID with a space, '&' and UTF-8).
const std::string kJson = R"({"amzn_devid":"G030QC0400000001","amzn_macid":"%AC%63%BE%B0%77%01",
 "international":1,
 "amzn_networks":[{"ssid":"Home%20%26%20Garden%20%C3%A9","bssid":"%24%A4%3C%01%02%03","security":"WPA AES PSK","rssi":"-48"},
                  {"ssid":"iot","bssid":"%24%A4%3C%01%02%04","security":"WPA2 AES PSK","rssi":-71},
                  {"ssid":"Cafe","bssid":"","security":"OPEN","rssi":"-80"}],
 "schemes":["dash_build_1"]})";

// The HTML page ("Amazon Dash Device Info").
const std::string kHtml = R"(<html><head><title>Amazon Dash Device Info</title></head><body>
<h1>Amazon Dash Device Info</h1>
<table>
<tr><td>Serial Number</td><td>G030QC0400000001</td></tr>
<tr><td>MAC Address</td><td>AC63BEB07701</td></tr>
<tr><td>Firmware</td><td>30017420_EU</td></tr>
<tr><td>Battery</td><td>87</td></tr>
</table></body></html>)";

// Some units show a blank page with hidden inputs.
const std::string kHidden = R"(<html><body><form>
<input type="hidden" name="amzn_devid" value="G030QC0400000002">
<input type='hidden' name='amzn_macid' value='ac63beb07702'>
<input type=hidden name=amzn_fwver value=40018220_US>
</form></body></html>)";

DeviceInfo must_parse(const std::string& page) {
  provision::ParseError err;
  const auto d = provision::parse_page(page, err);
  INFO(err.why);
  REQUIRE(d);
  return *d;
}

std::string why_not(const std::string& page) {
  provision::ParseError err;
  const auto d = provision::parse_page(page, err);
  REQUIRE_FALSE(d);
  REQUIRE_FALSE(err.why.empty());
  return err.why;
}

}  // namespace

TEST_CASE("provision: the JSON sample gives the serial, the MAC from its raw bytes, and the networks") {
  const auto d = must_parse(kJson);
  CHECK(d.format == DeviceInfo::Format::json);
  CHECK(d.serial == "G030QC0400000001");
  REQUIRE(d.mac);
  CHECK(d.mac->str() == "ac:63:be:b0:77:01");
  CHECK(d.firmware.empty());
  CHECK_FALSE(d.battery);
  CHECK(d.networks_listed);
  REQUIRE(d.networks.size() == 3);
  CHECK(d.networks[0].ssid == "Home & Garden \xc3\xa9");
  CHECK(d.networks[0].bssid == "24:a4:3c:01:02:03");
  CHECK(d.networks[0].security == "WPA AES PSK");
  CHECK(d.networks[0].rssi == -48);
  CHECK(d.networks[1].rssi == -71);  // a number, not a string
  CHECK(d.networks[2].bssid.empty());
  CHECK(d.networks[2].open());
  CHECK_FALSE(d.networks[0].open());
  CHECK(provision::find_network(d, "iot") == &d.networks[1]);
  CHECK(provision::find_network(d, "IOT") == nullptr);  // SSIDs are bytes: no case folding
}

TEST_CASE("provision: the HTML table gives the serial, the MAC, the firmware and the battery") {
  const auto d = must_parse(kHtml);
  CHECK(d.format == DeviceInfo::Format::html_table);
  CHECK(d.serial == "G030QC0400000001");
  CHECK(d.mac->str() == "ac:63:be:b0:77:01");
  CHECK(d.firmware == "30017420_EU");
  CHECK(d.battery == 87);
  CHECK_FALSE(d.networks_listed);
}

TEST_CASE("provision: a table with header cells, colons, entities and upper-case tags reads the same") {
  const auto d = must_parse(
      "<TABLE><TR><TH>Serial Number:</TH><TD> G030&#81;C01 </TD></TR>"
      "<tr><th>MAC&nbsp;Address</th><td>ac:63:be:b0:77:01</td></tr><!-- <tr><td>Battery</td><td>5</td></tr> -->"
      "<tr><td>Battery</td><td>13%</td></tr></TABLE>");
  CHECK(d.serial == "G030QC01");
  CHECK(d.mac->str() == "ac:63:be:b0:77:01");
  CHECK(d.battery == 13);
}

TEST_CASE("provision: the blank page's hidden inputs give the serial, the MAC and the firmware") {
  const auto d = must_parse(kHidden);
  CHECK(d.format == DeviceInfo::Format::html_hidden);
  CHECK(d.serial == "G030QC0400000002");
  CHECK(d.mac->str() == "ac:63:be:b0:77:02");
  CHECK(d.firmware == "40018220_US");
}

TEST_CASE("provision: merging the HTML page into the JSON one fills the firmware and battery") {
  auto d = must_parse(kJson);
  CHECK_FALSE(provision::merge(d, must_parse(kHtml)));
  CHECK(d.firmware == "30017420_EU");
  CHECK(d.battery == 87);
  CHECK(d.networks.size() == 3);
  CHECK(d.format == DeviceInfo::Format::json);
  // A page about another device is refused.
  auto other = must_parse(kJson);
  const auto why = provision::merge(other, must_parse(kHidden));
  REQUIRE(why);
  CHECK(why->find("two serial numbers") != std::string::npos);
}

TEST_CASE("provision: pages cut short keep what came whole, or say why they are no device info") {
  // The table cut inside the firmware's row: serial and MAC stand.
  const auto cut = kHtml.substr(0, kHtml.find("30017420"));
  const auto d = must_parse(cut);
  CHECK(d.mac);
  CHECK(d.firmware.empty());
  // Cut before any value.
  CHECK(why_not(kHtml.substr(0, 90)).find("no device info") != std::string::npos);
  // JSON cut anywhere is not JSON.
  for (const size_t n : {size_t{1}, size_t{20}, kJson.size() / 2, kJson.size() - 1})
    CHECK(why_not(kJson.substr(0, n)) == "the page is not JSON");
  CHECK(why_not("") .find("no device info") != std::string::npos);
}

TEST_CASE("provision: hostile pages are refused with a reason, never half read") {
  CHECK(why_not("[1,2,3]") == "the JSON is not an object");
  CHECK(why_not(R"({"international":1})") == "the JSON has neither amzn_devid nor amzn_macid");
  CHECK(why_not(R"({"amzn_devid":"G0\u0007X"})").find("serial number is not plain text") != std::string::npos);
  CHECK(why_not(R"({"amzn_macid":"%ZZ%63"})").find("MAC address") != std::string::npos);
  CHECK(why_not(R"({"amzn_devid":")" + std::string(200, 'A') + R"("})").find("not plain text") != std::string::npos);
  CHECK(why_not(std::string(provision::kMaxPage + 1, ' ') + "{}").find("larger than 64 KiB") != std::string::npos);
  CHECK(why_not("<html><body>Not Found</body></html>").find("no device info") != std::string::npos);
  CHECK(why_not("<tr><td>MAC Address</td><td>not a mac</td></tr>").find("does not parse") != std::string::npos);
  // Networks that make no sense are left out; the device stays.
  const auto d = must_parse(R"({"amzn_devid":"G1","amzn_networks":[1,"x",{"ssid":"%Z1"},{"ssid":""},
      {"ssid":"ok","rssi":"-999"},{"ssid":")" + std::string(33, 'a') + R"("},{"bssid":"x"}]})");
  REQUIRE(d.networks.size() == 1);
  CHECK(d.networks[0].ssid == "ok");
  CHECK_FALSE(d.networks[0].rssi);
  // A battery out of range is not a battery level.
  CHECK_FALSE(must_parse("<tr><td>Serial Number</td><td>G</td></tr><tr><td>Battery</td><td>250</td></tr>").battery);
  // A script is not a table, however it looks.
  CHECK(why_not("<script><tr><td>Serial Number</td><td>G</td></tr></script>").find("no device info") !=
        std::string::npos);
  // Unclosed everything.
  CHECK(why_not("<table><tr><td>Serial Number<td").find("no device info") != std::string::npos);
  // Many networks: a bounded list.
  std::string many = R"({"amzn_devid":"G","amzn_networks":[)";
  for (int i = 0; i < 500; ++i) many += std::string(i ? "," : "") + R"({"ssid":"n)" + std::to_string(i) + R"("})";
  CHECK(must_parse(many + "]}").networks.size() == 64);
}

TEST_CASE("provision: percent-encoding: every byte but the unreserved ones, a space as %20") {
  CHECK(provision::percent_encode("Home & Garden") == "Home%20%26%20Garden");
  CHECK(provision::percent_encode("a+b=c%d") == "a%2Bb%3Dc%25d");
  CHECK(provision::percent_encode("\xc3\xa9\xff") == "%C3%A9%FF");
  CHECK(provision::percent_encode("A-z_0.9~") == "A-z_0.9~");
  CHECK(provision::percent_decode("%41%2b+") == "A++");
  CHECK_FALSE(provision::percent_decode("%4"));
  CHECK_FALSE(provision::percent_decode("%"));
  CHECK_FALSE(provision::percent_decode("%G1"));
  for (const std::string s : {"", "x", "Home & Garden", "\x01\xff%+= /?#"})
    CHECK(provision::percent_decode(provision::percent_encode(s)) == s);
}

TEST_CASE("provision: the request carries the SSID and passphrase exactly") {
  CHECK(provision::provisioning_target("My Net&x=1", "pass word+%") ==
        "/?amzn_ssid=My%20Net%26x%3D1&amzn_pw=pass%20word%2B%25");
}

TEST_CASE("provision: SSIDs are 1 to 32 bytes without control characters") {
  CHECK_FALSE(provision::ssid_problem("Home"));
  CHECK_FALSE(provision::ssid_problem(std::string(32, 'x')));
  CHECK_FALSE(provision::ssid_problem("Caf\xc3\xa9 \xff"));
  CHECK(provision::ssid_problem("")->find("empty") != std::string::npos);
  CHECK(provision::ssid_problem(std::string(33, 'x'))->find("33 bytes") != std::string::npos);
  CHECK(provision::ssid_problem("a\nb")->find("control character") != std::string::npos);
  CHECK(provision::ssid_problem(std::string("a\0b", 3))->find("control character") != std::string::npos);
}

TEST_CASE("provision: passphrases are 8 to 63 printable ASCII characters, or 64 hex digits") {
  provision::Network wpa{"Home", "", "WPA AES PSK", {}};
  provision::Network open{"Cafe", "", "OPEN", {}};
  CHECK_FALSE(provision::passphrase_problem("12345678", &wpa));
  CHECK_FALSE(provision::passphrase_problem(std::string(63, '~'), &wpa));
  CHECK_FALSE(provision::passphrase_problem(std::string(64, 'a'), &wpa));
  CHECK_FALSE(provision::passphrase_problem("", &open));
  CHECK_FALSE(provision::passphrase_problem("", nullptr));  // --force, unknown network: an open one
  CHECK(provision::passphrase_problem("1234567", &wpa)->find("has 7 characters") != std::string::npos);
  CHECK(provision::passphrase_problem(std::string(64, 'g'), &wpa)->find("has 64 characters") != std::string::npos);
  CHECK(provision::passphrase_problem(std::string(65, 'a'), nullptr)->find("has 65") != std::string::npos);
  CHECK(provision::passphrase_problem("caf\xc3\xa9 1234", &wpa)->find("not printable ASCII") != std::string::npos);
  CHECK(provision::passphrase_problem("tab\there123", &wpa)->find("character 4") != std::string::npos);
  CHECK(provision::passphrase_problem("", &wpa)->find("needs a passphrase") != std::string::npos);
  CHECK(provision::passphrase_problem("12345678", &open)->find("open network") != std::string::npos);
}

TEST_CASE("provision: bytes are shown as UTF-8 where they are, escaped where they are not") {
  CHECK(provision::printable("Caf\xc3\xa9") == "Caf\xc3\xa9");
  CHECK(provision::printable("a\xff" "b") == "a\\xffb");
  CHECK(provision::printable("\x1b[31m") == "\\x1b[31m");
  CHECK(provision::printable("back\\slash") == "back\\\\slash");
  CHECK(provision::printable("\xc3") == "\\xc3");          // cut short
  CHECK(provision::printable("\xe0\x80\x80") == "\\xe0\\x80\\x80");  // overlong
  CHECK(provision::printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
  CHECK(provision::printable("\xf0\x9f\x94\x98") == "\xf0\x9f\x94\x98");
}
