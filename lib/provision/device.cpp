// SPDX-License-Identifier: GPL-2.0-or-later
#include "provision/device.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace dashctl::provision {
namespace {

constexpr size_t kMaxNetworks = 64;
constexpr size_t kMaxField = 128;  ///< a serial, a firmware name: far less in practice

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

/// A MAC as the pages give it: aa:bb:..., 12 hex digits, or its 6 bytes percent-encoded.
std::optional<util::Mac> mac_from(std::string_view text) {
  text = trim(text);
  if (auto m = util::Mac::parse(text)) return m;
  auto from_hex = [](std::string_view h) -> std::optional<util::Mac> {
    if (h.size() != 12 || !std::all_of(h.begin(), h.end(), is_hex)) return std::nullopt;
    util::Mac m;
    for (size_t i = 0; i < 6; ++i)
      m.bytes[i] = static_cast<uint8_t>(hex_value(h[2 * i]) * 16 + hex_value(h[2 * i + 1]));
    return m;
  };
  if (auto m = from_hex(text)) return m;
  const auto raw = percent_decode(text);
  if (!raw) return std::nullopt;
  if (raw->size() == 6) {
    util::Mac m;
    std::copy(raw->begin(), raw->end(), m.bytes.begin());
    return m;
  }
  return from_hex(*raw);
}

/// A short text field (serial, firmware): trimmed; nullopt when it is too long or holds
/// control characters, which no real page has.
std::optional<std::string> text_field(std::string_view value) {
  value = trim(value);
  if (value.size() > kMaxField) return std::nullopt;
  for (const unsigned char c : value)
    if (c < 0x20 || c == 0x7f) return std::nullopt;
  return std::string(value);
}

/// A whole number from its leading digits ("87", "87%", " -52 dBm"), within [lo, hi].
std::optional<int> number(std::string_view text, int lo, int hi) {
  text = trim(text);
  int v = 0;
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (err != std::errc() || end == text.data() || v < lo || v > hi) return std::nullopt;
  return v;
}

std::optional<int> json_number(const nlohmann::json& j, int lo, int hi) {
  if (j.is_number_integer()) {
    const auto v = j.get<long long>();
    if (v < lo || v > hi) return std::nullopt;
    return static_cast<int>(v);
  }
  if (j.is_string()) return number(j.get_ref<const std::string&>(), lo, hi);
  return std::nullopt;
}

/// The string of `key`, or of its first alternative present; numbers are written out.
std::optional<std::string> json_text(const nlohmann::json& obj, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    const auto it = obj.find(k);
    if (it == obj.end()) continue;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number_integer()) return std::to_string(it->get<long long>());
  }
  return std::nullopt;
}

/// Fills a device's serial, MAC and firmware from the pages' field names (JSON keys, hidden
/// inputs). Returns the reason when a value is there but unusable.
std::optional<std::string> set_field(DeviceInfo& d, std::string_view key, std::string_view value) {
  if (key == "amzn_devid" || key == "serial") {
    const auto t = text_field(value);
    if (!t) return "its serial number is not plain text";
    d.serial = *t;
  } else if (key == "amzn_macid" || key == "mac") {
    d.mac = mac_from(value);
    if (!d.mac) return "its MAC address '" + printable(value.substr(0, 64)) + "' does not parse";
  } else if (key == "amzn_fwver" || key == "firmware") {
    const auto t = text_field(value);
    if (!t) return "its firmware version is not plain text";
    d.firmware = *t;
  } else if (key == "amzn_battery" || key == "battery") {
    d.battery = number(value, 0, 100);
  }
  return std::nullopt;
}

std::optional<DeviceInfo> fail(ParseError& err, std::string why) {
  err.why = std::move(why);
  return std::nullopt;
}

std::optional<Network> network_from(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  const auto ssid_text = json_text(j, {"ssid"});
  if (!ssid_text) return std::nullopt;
  const auto ssid = percent_decode(*ssid_text);
  if (!ssid || ssid->empty() || ssid->size() > 32) return std::nullopt;
  Network n;
  n.ssid = *ssid;
  if (const auto b = json_text(j, {"bssid"}))
    if (const auto m = mac_from(*b)) n.bssid = m->str();
  if (const auto s = json_text(j, {"security"})) n.security = text_field(*s).value_or("");
  if (const auto it = j.find("rssi"); it != j.end()) n.rssi = json_number(*it, -150, 0);
  return n;
}

// ---- HTML ------------------------------------------------------------------------------------

/// The text of HTML character data: the entities the pages can hold decoded (&amp; &lt; &gt;
/// &quot; &#39; &nbsp; &#NN; &#xNN;), any other '&' left as it is.
std::string unescape_html(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += '&';
      continue;
    }
    const auto name = s.substr(i + 1, semi - i - 1);
    static constexpr std::pair<std::string_view, char> kNamed[] = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", ' '}};
    bool done = false;
    for (const auto& [n, c] : kNamed)
      if (name == n) out += c, done = true;
    if (!done && name.size() > 1 && name[0] == '#') {
      unsigned v = 0;
      const bool hex = name[1] == 'x' || name[1] == 'X';
      const auto digits = name.substr(hex ? 2 : 1);
      const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), v, hex ? 16 : 10);
      if (err == std::errc() && end == digits.data() + digits.size() && v > 0 && v < 0x80) {
        out += static_cast<char>(v);
        done = true;
      }
    }
    if (!done) {
      out += '&';
      continue;
    }
    i = semi;
  }
  return out;
}

/// An attribute's value in a tag's text (`name="value"`, `name='value'` or `name=value`).
std::optional<std::string> attribute(std::string_view tag, std::string_view name) {
  size_t i = 0;
  while (i < tag.size()) {
    while (i < tag.size() && !(std::isalpha(static_cast<unsigned char>(tag[i])) || tag[i] == '-' || tag[i] == '_')) ++i;
    const size_t start = i;
    while (i < tag.size() && (std::isalnum(static_cast<unsigned char>(tag[i])) || tag[i] == '-' || tag[i] == '_')) ++i;
    const auto key = tag.substr(start, i - start);
    while (i < tag.size() && tag[i] == ' ') ++i;
    if (i >= tag.size() || tag[i] != '=') continue;
    ++i;
    while (i < tag.size() && tag[i] == ' ') ++i;
    std::string_view value;
    if (i < tag.size() && (tag[i] == '"' || tag[i] == '\'')) {
      const char q = tag[i++];
      const size_t end = tag.find(q, i);
      value = tag.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
      i = end == std::string_view::npos ? tag.size() : end + 1;
    } else {
      const size_t s = i;
      while (i < tag.size() && tag[i] != ' ' && tag[i] != '>' && tag[i] != '/') ++i;
      value = tag.substr(s, i - s);
    }
    if (iequals(key, name)) return unescape_html(value);
  }
  return std::nullopt;
}

/// The rows of the page's tables (each a row's cells, as text) and its input tags' text.
struct HtmlParts {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string_view> inputs;
};

HtmlParts scan_html(std::string_view page) {
  HtmlParts parts;
  std::vector<std::string> row;
  std::optional<std::string> cell;
  auto end_cell = [&] {
    if (cell) row.push_back(std::string(trim(unescape_html(*cell))));
    cell.reset();
  };
  auto end_row = [&] {
    end_cell();
    if (!row.empty()) parts.rows.push_back(std::move(row));
    row.clear();
  };
  size_t i = 0;
  while (i < page.size()) {
    const size_t lt = page.find('<', i);
    if (cell) cell->append(page.substr(i, lt == std::string_view::npos ? std::string_view::npos : lt - i));
    if (lt == std::string_view::npos) break;
    if (page.substr(lt).starts_with("<!--")) {
      const size_t end = page.find("-->", lt + 4);
      if (end == std::string_view::npos) break;
      i = end + 3;
      continue;
    }
    const size_t gt = page.find('>', lt);
    if (gt == std::string_view::npos) break;  // a truncated tag: what came before stands
    const auto tag = page.substr(lt + 1, gt - lt - 1);
    const bool closing = !tag.empty() && tag[0] == '/';
    size_t n = closing ? 1 : 0;
    while (n < tag.size() && std::isalnum(static_cast<unsigned char>(tag[n]))) ++n;
    const auto name = tag.substr(closing ? 1 : 0, n - (closing ? 1 : 0));
    i = gt + 1;
    if (iequals(name, "tr") || iequals(name, "table")) {
      end_row();
    } else if (iequals(name, "td") || iequals(name, "th")) {
      end_cell();
      if (!closing) cell.emplace();
    } else if (iequals(name, "br") && cell) {
      cell->push_back(' ');
    } else if (!closing && iequals(name, "input")) {
      parts.inputs.push_back(tag);
    } else if (!closing && (iequals(name, "script") || iequals(name, "style"))) {
      const auto close = std::string("</") + std::string(name);
      size_t end = i;
      for (; end < page.size(); ++end)
        if (page[end] == '<' && iequals(page.substr(end, close.size()), close)) break;
      i = end;
    }
  }
  end_row();
  return parts;
}

/// "Serial Number:" as "serial number".
std::string label_of(std::string_view text) {
  std::string out;
  for (const char c : trim(text)) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += lower(c);
    }
  }
  while (!out.empty() && (out.back() == ':' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

bool Network::open() const { return iequals(security, "OPEN") || iequals(security, "NONE"); }

const char* format_name(DeviceInfo::Format f) {
  switch (f) {
    case DeviceInfo::Format::json: return "json";
    case DeviceInfo::Format::html_table: return "html-table";
    case DeviceInfo::Format::html_hidden: return "html-hidden";
  }
  return "?";
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2])) return std::nullopt;
    out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
    i += 2;
  }
  return out;
}

std::string percent_encode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : bytes) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string printable(std::string_view bytes) {
  std::string out;
  auto escape = [&](unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
    out += buf;
  };
  for (size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) escape(c);
      else if (c == '\\') out += "\\\\";
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    // A whole, shortest-form UTF-8 sequence passes; anything else is escaped byte by byte.
    const size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
    bool ok = len != 0 && i + len <= bytes.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(bytes[i + k]) & 0xc0) == 0x80;
    if (ok && len == 3) {
      const auto c1 = static_cast<unsigned char>(bytes[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);  // overlong, surrogates
    }
    if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(bytes[i + 1]);
      ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (!ok) {
      escape(c);
      ++i;
      continue;
    }
    out.append(bytes.substr(i, len));
    i += len;
  }
  return out;
}

std::optional<DeviceInfo> parse_json(std::string_view page, ParseError& err) {
  if (page.size() > kMaxPage) return fail(err, "the page is larger than " + std::to_string(kMaxPage / 1024) + " KiB");
  const auto j = nlohmann::json::parse(page.begin(), page.end(), nullptr, false);
  if (j.is_discarded()) return fail(err, "the page is not JSON");
  if (!j.is_object()) return fail(err, "the JSON is not an object");
  DeviceInfo d;
  d.format = DeviceInfo::Format::json;
  for (const char* key : {"amzn_devid", "amzn_macid", "amzn_fwver", "amzn_battery", "battery"}) {
    const auto value = json_text(j, {key});
    if (!value) continue;
    if (auto why = set_field(d, key, *value)) return fail(err, "the JSON is not a button's: " + *why);
  }
  if (d.serial.empty() && !d.mac) return fail(err, "the JSON has neither amzn_devid nor amzn_macid");
  if (const auto it = j.find("amzn_networks"); it != j.end() && it->is_array()) {
    d.networks_listed = true;
    for (const auto& n : *it) {
      if (d.networks.size() >= kMaxNetworks) break;
      if (auto net = network_from(n)) d.networks.push_back(std::move(*net));
    }
  }
  return d;
}

std::optional<DeviceInfo> parse_html(std::string_view page, ParseError& err) {
  if (page.size() > kMaxPage) return fail(err, "the page is larger than " + std::to_string(kMaxPage / 1024) + " KiB");
  const auto parts = scan_html(page);
  DeviceInfo table;
  table.format = DeviceInfo::Format::html_table;
  bool any_row = false;
  for (const auto& row : parts.rows) {
    if (row.size() < 2) continue;
    const auto label = label_of(row[0]);
    const char* key = label == "serial number" || label == "serial" || label == "device serial number" ? "serial"
                      : label == "mac address" || label == "mac"                                     ? "mac"
                      : label == "firmware" || label == "firmware version"                           ? "firmware"
                      : label == "battery" || label == "battery level"                               ? "battery"
                                                                                                     : nullptr;
    if (!key) continue;
    if (auto why = set_field(table, key, row[1])) return fail(err, "the page is not a button's: " + *why);
    any_row = true;
  }
  if (any_row && (!table.serial.empty() || table.mac)) return table;

  DeviceInfo hidden;
  hidden.format = DeviceInfo::Format::html_hidden;
  for (const auto tag : parts.inputs) {
    const auto name = attribute(tag, "name");
    const auto value = attribute(tag, "value");
    if (!name || !value) continue;
    if (auto why = set_field(hidden, *name, *value)) return fail(err, "the page is not a button's: " + *why);
  }
  if (!hidden.serial.empty() || hidden.mac) return hidden;
  return fail(err, "the page has no device info: no Serial Number or MAC Address row, no amzn_devid or amzn_macid");
}

std::optional<DeviceInfo> parse_page(std::string_view page, ParseError& err) {
  const auto t = trim(page);
  if (t.starts_with('{') || t.starts_with('[')) return parse_json(page, err);
  return parse_html(page, err);
}

std::optional<std::string> merge(DeviceInfo& into, const DeviceInfo& more) {
  if (!into.serial.empty() && !more.serial.empty() && into.serial != more.serial)
    return "its two pages give two serial numbers, " + into.serial + " and " + more.serial;
  if (into.mac && more.mac && *into.mac != *more.mac)
    return "its two pages give two MAC addresses, " + into.mac->str() + " and " + more.mac->str();
  if (into.serial.empty()) into.serial = more.serial;
  if (!into.mac) into.mac = more.mac;
  if (into.firmware.empty()) into.firmware = more.firmware;
  if (!into.battery) into.battery = more.battery;
  if (!into.networks_listed && more.networks_listed) {
    into.networks = more.networks;
    into.networks_listed = true;
  }
  return std::nullopt;
}

std::optional<std::string> ssid_problem(std::string_view ssid) {
  if (ssid.empty()) return std::string("an SSID has 1 to 32 bytes, and this one is empty");
  if (ssid.size() > 32)
    return "'" + printable(ssid) + "' is " + std::to_string(ssid.size()) + " bytes long: an SSID has at most 32";
  for (const unsigned char c : ssid)
    if (c < 0x20 || c == 0x7f)
      return "'" + printable(ssid) + "' holds a control character, which the button cannot take";
  return std::nullopt;
}

std::optional<std::string> passphrase_problem(std::string_view passphrase, const Network* network) {
  if (passphrase.empty()) {
    if (network && !network->security.empty() && !network->open())
      return "'" + printable(network->ssid) + "' is protected (" + network->security + "): it needs a passphrase";
    return std::nullopt;
  }
  if (network && network->open())
    return "'" + printable(network->ssid) + "' is an open network: it takes no passphrase";
  if (passphrase.size() == 64 && std::all_of(passphrase.begin(), passphrase.end(), is_hex)) return std::nullopt;
  for (size_t i = 0; i < passphrase.size(); ++i) {
    const auto c = static_cast<unsigned char>(passphrase[i]);
    if (c < 0x20 || c > 0x7e)
      return "the passphrase's character " + std::to_string(i + 1) +
             " is not printable ASCII: a WPA passphrase is 8 to 63 of the characters from space to '~'";
  }
  if (passphrase.size() < 8 || passphrase.size() > 63)
    return "the passphrase has " + std::to_string(passphrase.size()) +
           " characters: a WPA passphrase has 8 to 63 (or is the key itself, 64 hex digits)";
  return std::nullopt;
}

std::string provisioning_target(std::string_view ssid, std::string_view passphrase) {
  return "/?amzn_ssid=" + percent_encode(ssid) + "&amzn_pw=" + percent_encode(passphrase);
}

const Network* find_network(const DeviceInfo& info, std::string_view ssid) {
  for (const auto& n : info.networks)
    if (n.ssid == ssid) return &n;
  return nullptr;
}

}  // namespace dashctl::provision
