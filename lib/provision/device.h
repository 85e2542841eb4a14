// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// A Dash button in setup mode, as `dashctl provision` meets it: the device info its setup
// access point serves (FACTS.md, "Setting a button up without Amazon"), and the request that
// gives it a network. Pure code: the pages are parsed here from text, and the HTTP exchange
// is lib/provision/http.cpp's.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/net.h"

namespace dashctl::provision {

/// The address the button has on its own setup network ("Amazon ConfigureMe").
inline constexpr std::string_view kButtonAddress = "192.168.0.1";

/// The largest page either parser looks at: the real ones are well under 4 KiB.
inline constexpr size_t kMaxPage = 64 * 1024;

/// A network the button sees in its own scan.
struct Network {
  std::string ssid;      ///< the raw bytes, percent-decoded
  std::string bssid;     ///< aa:bb:cc:dd:ee:ff, or empty when the page gave none that parses
  std::string security;  ///< as the button says it: "WPA AES PSK", "WPA2 AES PSK", "OPEN"...
  std::optional<int> rssi;  ///< dBm
  /// "OPEN", "NONE" or empty: a network without a passphrase.
  bool open() const;
};

/// What the button says about itself.
struct DeviceInfo {
  enum class Format { json, html_table, html_hidden };
  Format format = Format::json;
  std::string serial;
  std::optional<util::Mac> mac;
  std::string firmware;
  std::optional<int> battery;  ///< percent, 0-100
  std::vector<Network> networks;
  /// Only the JSON lists networks; for the HTML pages nothing is known of them.
  bool networks_listed = false;
};

const char* format_name(DeviceInfo::Format f);

/// Why a page is not device info: a message for the user, one line.
struct ParseError {
  std::string why;
};

/// The JSON answer to `GET /` with `Content-Type: application/json`: amzn_devid, amzn_macid
/// (the MAC's bytes percent-encoded, or its hex), amzn_networks (ssid and bssid
/// percent-encoded, security, rssi as a string or a number), and amzn_fwver and a battery
/// level when a firmware adds them. Unknown keys are ignored. nullopt and `err` set when it
/// is not JSON, not an object, or has no serial or MAC that parses.
std::optional<DeviceInfo> parse_json(std::string_view page, ParseError& err);

/// The HTML answer ("Amazon Dash Device Info"): a table of rows Serial Number, MAC Address
/// (hex, with or without separators), Firmware, Battery; or, where the page is blank, hidden
/// inputs amzn_devid, amzn_macid, amzn_fwver. nullopt and `err` set when it has neither a
/// serial nor a MAC.
std::optional<DeviceInfo> parse_html(std::string_view page, ParseError& err);

/// Whichever of the two the page is (JSON when it starts with '{' after blanks).
std::optional<DeviceInfo> parse_page(std::string_view page, ParseError& err);

/// Fills what `more` knows and `into` does not (firmware and battery from the HTML page
/// beside the JSON one); a different serial or MAC is refused with a reason.
std::optional<std::string> merge(DeviceInfo& into, const DeviceInfo& more);

/// %XX decoding of every escape; nullopt when an escape is malformed. '+' stays '+'.
std::optional<std::string> percent_decode(std::string_view text);

/// Everything but A-Z a-z 0-9 - . _ ~ as %XX (upper case): a space is %20, never '+'.
std::string percent_encode(std::string_view bytes);

/// The bytes for a person: UTF-8 as it is, other bytes and control characters as \xNN.
std::string printable(std::string_view bytes);

/// Why the button cannot take this SSID, or nullopt: 802.11 allows 1 to 32 bytes; a NUL or
/// another control character cannot reach it through its HTTP request intact.
std::optional<std::string> ssid_problem(std::string_view ssid);

/// Why the button cannot take this passphrase for `network` (nullptr: not known), or
/// nullopt. WPA: 8 to 63 printable ASCII characters, or 64 hex digits (the key itself); an
/// open network takes none.
std::optional<std::string> passphrase_problem(std::string_view passphrase, const Network* network);

/// The request target that gives the button its network: /?amzn_ssid=...&amzn_pw=...
std::string provisioning_target(std::string_view ssid, std::string_view passphrase);

/// The network the button lists with exactly these bytes, or nullptr.
const Network* find_network(const DeviceInfo& info, std::string_view ssid);

}  // namespace dashctl::provision
