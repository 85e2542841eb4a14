// SPDX-License-Identifier: GPL-2.0-or-later
#include "learn/learn.h"

#include <algorithm>
#include <array>
#include <unordered_set>
#include <utility>
#include <vector>

#include "util/error.h"
#include "util/fs.h"

namespace dashctl::learn {

namespace {

// The registry's columns: Registry, Assignment, Organization Name, Organization Address.
constexpr size_t kColumns = 4;

/// One CSV record as read: up to kColumns fields (the strings keep their capacity from
/// record to record, so 35,000 lines cost few allocations) and how many fields there were.
struct Record {
  std::array<std::string, kColumns> fields;
  std::string extra;  // fields beyond kColumns land here and are counted, then dropped
  size_t count = 0;
};

/// Reads RFC 4180 records: a field is quoted when it starts with '"', a quoted field may hold
/// commas, doubled quotes and line ends (the registry's addresses span lines), and records
/// end in "\n" or "\r\n". A quote inside an unquoted field is kept as it is.
class CsvReader {
 public:
  explicit CsvReader(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ >= text_.size(); }

  /// Reads the next record into `r`. False when it is not valid CSV, skipped as a CSV
  /// reader resynchronises: text after a closing quote costs the record up to the end of
  /// that line; a quote never closed costs its own line, and the lines after it (which can
  /// hold only doubled quotes) are read again. Nothing else is read twice: each record
  /// starts where the last one stopped, so the work is linear whatever the damage.
  bool next(Record& r) {
    r.count = 0;
    for (;;) {
      std::string& out = r.count < kColumns ? r.fields[r.count] : r.extra;
      out.clear();
      ++r.count;
      if (pos_ < text_.size() && text_[pos_] == '"') {
        const size_t open = pos_;
        if (!quoted(out)) return skip_line_at(open);
        if (pos_ == text_.size()) return true;
        if (text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (text_[pos_] == '\n') {
          ++pos_;
          return true;
        }
        if (text_.substr(pos_, 2) == "\r\n") {
          pos_ += 2;
          return true;
        }
        return skip_line_at(pos_);
      }
      const size_t end = std::min(text_.find_first_of(",\n", pos_), text_.size());
      std::string_view field = text_.substr(pos_, end - pos_);
      pos_ = end;
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        out.assign(field);
        continue;
      }
      if (!field.empty() && field.back() == '\r') field.remove_suffix(1);
      out.assign(field);
      if (pos_ < text_.size()) ++pos_;  // the '\n'
      return true;
    }
  }

 private:
  /// Reads a quoted field from its opening quote up to and past its closing quote.
  bool quoted(std::string& out) {
    ++pos_;
    for (;;) {
      const size_t q = text_.find('"', pos_);
      if (q == std::string_view::npos) return false;
      out.append(text_.substr(pos_, q - pos_));
      pos_ = q + 1;
      if (pos_ < text_.size() && text_[pos_] == '"') {  // "" is one quote
        out.push_back('"');
        ++pos_;
        continue;
      }
      return true;
    }
  }

  /// Moves past the end of the line holding `at`.
  bool skip_line_at(size_t at) {
    const size_t nl = text_.find('\n', at);
    pos_ = nl == std::string_view::npos ? text_.size() : nl + 1;
    return false;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/// "ACDE48" as 0xACDE48; nullopt unless exactly six hex digits.
std::optional<uint32_t> parse_prefix(std::string_view text) {
  if (text.size() != 6) return std::nullopt;
  uint32_t value = 0;
  for (char c : text) {
    const int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    value = value << 4 | static_cast<uint32_t>(d);
  }
  return value;
}

/// The name as one printable line: control characters (tabs, line ends) become spaces, and
/// white space around it goes. The verb may write the vendor into a button's TOML file as a
/// comment, where a line end would start a line of config.
std::string clean_name(std::string name) {
  for (char& c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  const size_t first = name.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  const size_t last = name.find_last_not_of(' ');
  return name.substr(first, last - first + 1);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// The next white-space separated word of `line` from `pos`, advancing `pos` past it.
std::string_view next_word(std::string_view line, size_t& pos) {
  constexpr std::string_view kSpace = " \t\r";
  const size_t begin = line.find_first_not_of(kSpace, pos);
  if (begin == std::string_view::npos) {
    pos = line.size();
    return {};
  }
  const size_t end = std::min(line.find_first_of(kSpace, begin), line.size());
  pos = end;
  return line.substr(begin, end - begin);
}

struct Lease {
  util::Mac mac;
  util::Ipv4 ip;
};

/// The IPv4 leases of dnsmasq's lease file ("EXPIRY MAC IP HOST CLIENTID"). Every lease
/// counts, whatever its expiry (0 is "never"): the device may still be using the address.
/// The "duid" line and the DHCPv6 leases after it fail the MAC or the address check, as do
/// hardware addresses that are not Ethernet (dnsmasq writes "06-00:11:..." for those).
std::vector<Lease> read_leases(std::string_view text) {
  std::vector<Lease> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);

    size_t pos = 0;
    const auto expiry = next_word(line, pos);
    const auto mac = util::Mac::parse(next_word(line, pos));
    const auto ip = util::Ipv4::parse(next_word(line, pos));
    if (all_digits(expiry) && mac && ip) out.push_back({*mac, *ip});
  }
  return out;
}

}  // namespace

Vendors Vendors::parse(std::string_view csv) {
  Vendors v;
  // About 87 bytes a line in the real file; the cap keeps a huge non-registry input from
  // reserving memory it will never use.
  v.by_prefix_.reserve(std::min<size_t>(csv.size() / 64, 65536));
  CsvReader reader(csv);
  Record r;
  while (!reader.at_end()) {
    if (!reader.next(r) || r.count != kColumns || r.fields[0] != "MA-L") continue;
    const auto prefix = parse_prefix(r.fields[1]);
    if (!prefix) continue;
    std::string name = clean_name(std::move(r.fields[2]));
    // A few prefixes appear more than once (08:00:30 three times); the first one stays.
    if (!name.empty()) v.by_prefix_.try_emplace(*prefix, std::move(name));
  }
  return v;
}

Vendors Vendors::load(const std::string& path) {
  try {
    if (auto text = util::read_file(path)) return parse(*text);
  } catch (const util::Error&) {
    // Unreadable (permissions, a directory): no vendors, as when the package is missing.
  }
  return {};
}

std::optional<std::string> Vendors::lookup(const util::Mac& mac) const {
  if ((mac.bytes[0] & 0x02) != 0) return std::nullopt;
  const uint32_t prefix = uint32_t{mac.bytes[0]} << 16 | uint32_t{mac.bytes[1]} << 8 | mac.bytes[2];
  const auto it = by_prefix_.find(prefix);
  if (it == by_prefix_.end()) return std::nullopt;
  return it->second;
}

std::optional<util::Ipv4> next_free_address(const config::Config& c, const util::Mac& mac,
                                            std::string_view leases) {
  if (!c.network.lease_range) return std::nullopt;
  const util::Ipv4Range range = *c.network.lease_range;
  if (range.last < range.first) return std::nullopt;

  // Only the taken addresses are collected, never the range's: a /8 costs what its users do.
  std::vector<uint32_t> taken;
  auto take = [&](util::Ipv4 a) {
    if (range.contains(a)) taken.push_back(a.value);
  };
  for (const auto& b : c.buttons)
    if (b.ip) take(*b.ip);
  if (c.network.listen_address) take(*c.network.listen_address);
  std::vector<uint32_t> own;
  for (const auto& l : read_leases(leases)) {
    if (l.mac != mac)
      take(l.ip);
    else if (range.contains(l.ip))
      own.push_back(l.ip.value);
  }
  std::sort(taken.begin(), taken.end());
  taken.erase(std::unique(taken.begin(), taken.end()), taken.end());

  // The device keeps the address it has, so it need not change address when the static
  // lease is written (and a lease another MAC also holds is not its alone to keep).
  std::sort(own.begin(), own.end());
  for (uint32_t a : own)
    if (!std::binary_search(taken.begin(), taken.end(), a)) return util::Ipv4{a};

  // The first gap in the sorted taken addresses. 64 bits: a range may end at 255.255.255.255.
  uint64_t candidate = range.first.value;
  for (uint32_t a : taken) {
    if (a != candidate) break;  // sorted, unique and >= first: a gap before a
    ++candidate;
  }
  if (candidate > range.last.value) return std::nullopt;
  return util::Ipv4{static_cast<uint32_t>(candidate)};
}

std::string free_name(const config::Config& c) {
  std::unordered_set<std::string_view> names;
  for (const auto& b : c.buttons) names.insert(b.name);
  // At most buttons.size() + 1 tries: n buttons cannot hold n + 1 names.
  for (size_t n = 1;; ++n) {
    std::string name = "button-" + std::to_string(n);
    if (!names.contains(name)) return name;
  }
}

}  // namespace dashctl::learn
