// SPDX-License-Identifier: GPL-2.0-or-later
// dnsmasq's lease events: what dhcp-event makes of dnsmasq's arguments and environment,
// the datagram it sends, what the daemon accepts of a datagram, and the send itself.

#include "support/catch.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "daemon/event.h"
#include "support/tmpdir.h"
#include "util/error.h"
#include "util/posix.h"

using namespace dashctl;
using namespace dashctl::daemon;
using dashctl::test::TempDir;

namespace {

using Env = std::map<std::string, std::string>;

/// dnsmasq's environment for one event, as parse_dhcp_event looks it up.
std::function<const char*(const char*)> lookup(const Env& env) {
  return [&env](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}

const Env kWakeUp{{"DNSMASQ_SUPPLIED_HOSTNAME", "bedroom"}, {"DNSMASQ_INTERFACE", "br-iot"},
                  {"DNSMASQ_TAGS", "br-iot"}, {"DNSMASQ_TIME_REMAINING", "3600"}};
const Env kStartUp{{"DNSMASQ_INTERFACE", "br-iot"}, {"DNSMASQ_TIME_REMAINING", "3600"}};

ParsedEvent parse(const std::vector<std::string>& args, const Env& env = kWakeUp) {
  return parse_dhcp_event(args, lookup(env));
}

/// The exit code of the util::Error parsing throws, or ok when it takes or ignores the event.
util::Exit refusal(const std::vector<std::string>& args, const Env& env = kWakeUp) {
  try {
    (void)parse(args, env);
    return util::Exit::ok;
  } catch (const util::Error& e) {
    return e.code();
  }
}

/// Why parsing ignores the event, failing the test when it does not.
std::string ignored_why(const std::vector<std::string>& args, const Env& env = kWakeUp) {
  ParsedEvent p;
  REQUIRE_NOTHROW(p = parse(args, env));
  CHECK_FALSE(p.event);
  CHECK_FALSE(p.ignored.empty());
  return p.ignored;
}

LeaseEvent sample_event() {
  LeaseEvent e;
  e.action = "old";
  e.mac = *util::Mac::parse("ac:63:be:00:00:01");
  e.ip = *util::Ipv4::parse("10.77.0.201");
  e.hostname = "bedroom";
  e.interface = "br-iot";
  return e;
}

const std::string kSampleDatagram =
    R"({"v":1,"action":"old","mac":"ac:63:be:00:00:01","ip":"10.77.0.201","host":"bedroom","interface":"br-iot"})";

/// A unix datagram socket bound at `path`, as the daemon's.
util::Fd bound_socket(const std::string& path, int type = SOCK_DGRAM) {
  util::Fd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  REQUIRE(fd);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

}  // namespace

TEST_CASE("parse_dhcp_event takes add and old with DNSMASQ_SUPPLIED_HOSTNAME as wake-ups") {
  for (const std::string action : {"add", "old"}) {
    const auto p = parse({action, "AC:63:BE:00:00:01", "10.77.0.201", "bedroom"});
    REQUIRE(p.event);
    CHECK(p.ignored.empty());
    CHECK(p.event->action == action);
    CHECK(p.event->mac == *util::Mac::parse("ac:63:be:00:00:01"));
    CHECK(p.event->ip == *util::Ipv4::parse("10.77.0.201"));
    CHECK(p.event->hostname == "bedroom");
    CHECK(p.event->interface == "br-iot");
  }
}

TEST_CASE("parse_dhcp_event takes a wake-up without HOST or DNSMASQ_INTERFACE") {
  const auto p = parse({"add", "ac:63:be:00:00:01", "10.77.0.201"}, {{"DNSMASQ_SUPPLIED_HOSTNAME", "x"}});
  REQUIRE(p.event);
  CHECK(p.event->hostname.empty());
  CHECK(p.event->interface.empty());
  // Set but empty still says the client sent option 12.
  CHECK(parse({"old", "ac:63:be:00:00:01", "10.77.0.201"}, {{"DNSMASQ_SUPPLIED_HOSTNAME", ""}}).event);
}

TEST_CASE("parse_dhcp_event ignores add and old without DNSMASQ_SUPPLIED_HOSTNAME") {
  // The old events dnsmasq emits for every lease when it starts, and clients that send no name.
  for (const std::string action : {"add", "old"}) {
    const auto why = ignored_why({action, "ac:63:be:00:00:01", "10.77.0.201", "bedroom"}, kStartUp);
    CHECK(why.find("DNSMASQ_SUPPLIED_HOSTNAME") != std::string::npos);
  }
}

TEST_CASE("parse_dhcp_event ignores the actions it does not handle whatever their arguments") {
  const std::vector<std::vector<std::string>> others{
      {"del", "ac:63:be:00:00:01", "10.77.0.201", "bedroom"},
      {"del", "ac:63:be:00:00:01", "10.77.0.201"},
      {"init"},
      {"tftp", "12345", "10.77.0.201", "/srv/tftp/pxelinux.0"},
      {"arp-add", "ac:63:be:00:00:01", "10.77.0.201"},
      {"arp-del", "ac:63:be:00:00:01", "10.77.0.201"},
      {"relay-snoop", "fd00::1", "64", "br-iot"},
      {"ADD", "ac:63:be:00:00:01", "10.77.0.201"},
      {"future-action"},
      {"-v", "--socket", "x", "y", "z", "w"},
  };
  for (const auto& args : others) {
    INFO(args[0]);
    CHECK(ignored_why(args).find("'" + args[0] + "' is not add or old") != std::string::npos);
  }
}

TEST_CASE("parse_dhcp_event ignores DHCPv6 leases and hardware that is not Ethernet") {
  const std::vector<std::vector<std::string>> others{
      // DHCPv6: a DUID and an IPv6 address.
      {"add", "00:01:00:01:2c:5e:1a:2b:ac:63:be:00:00:01", "fd00:77::201", "bedroom"},
      {"old", "00:03:00:01:ac:63:be:00:00:01", "fd00:77::201"},
      // dnsmasq writes the hardware type first for what is not Ethernet.
      {"add", "06-ac:63:be:00:00:01", "10.77.0.201"},
      {"add", "20-80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:01:02:03", "10.77.0.201"},
      {"add", "01-", "10.77.0.201"},
      // Ethernet's type with another length.
      {"add", "ac:63:be:00:00:01:02", "10.77.0.201"},
      {"add", "ac:63:be:00:00", "10.77.0.201"},
  };
  for (const auto& args : others) {
    INFO(args[1] << " " << args[2]);
    CHECK(ignored_why(args).find(args[2]) != std::string::npos);
  }
}

TEST_CASE("parse_dhcp_event refuses a wrong number of arguments") {
  CHECK(refusal({}) == util::Exit::usage);
  CHECK(refusal({"add"}) == util::Exit::usage);
  CHECK(refusal({"old", "ac:63:be:00:00:01"}) == util::Exit::usage);
  CHECK(refusal({"old", "ac:63:be:00:00:01", "10.77.0.201", "a", "b"}) == util::Exit::usage);
  // Even for start-up events: the count is wrong whatever the environment.
  CHECK(refusal({"old", "ac:63:be:00:00:01"}, kStartUp) == util::Exit::usage);
}

TEST_CASE("parse_dhcp_event refuses a malformed wake-up") {
  const std::vector<std::vector<std::string>> bad{
      {"add", "zz:63:be:00:00:01", "10.77.0.201"},
      {"add", "ac:63:be:00:00:01x", "10.77.0.201"},
      {"add", "bedroom", "10.77.0.201"},
      {"add", "", "10.77.0.201"},
      {"add", "ac:63:be:00:00:01", "10.77.0"},
      {"add", "ac:63:be:00:00:01", "10.77.0.256"},
      {"add", "ac:63:be:00:00:01", "bedroom"},
      {"add", "ac:63:be:00:00:01", "10.77.0.201", "bed\nroom"},
      {"add", "ac:63:be:00:00:01", "10.77.0.201", "bed\x7froom"},
      {"add", "ac:63:be:00:00:01", "10.77.0.201", std::string(256, 'a')},
      {"add", "ac:63:be:00:00:01", "10.77.0.201", "\xff\xfe"},
  };
  for (const auto& args : bad) {
    INFO(args[1] << " " << args[2]);
    CHECK(refusal(args) == util::Exit::data);
  }
  CHECK(parse({"add", "ac:63:be:00:00:01", "10.77.0.201", std::string(255, 'a')}).event);
  for (const std::string interface : {"a-name-too-long-for-linux", "br iot", "br/iot"}) {
    Env env = kWakeUp;
    env["DNSMASQ_INTERFACE"] = interface;
    CHECK(refusal({"add", "ac:63:be:00:00:01", "10.77.0.201"}, env) == util::Exit::data);
  }
}

TEST_CASE("encode writes one line of JSON that decode reads back") {
  const LeaseEvent e = sample_event();
  CHECK(encode(e) == kSampleDatagram);
  CHECK(decode(kSampleDatagram) == e);

  auto bare = e;
  bare.action = "add";
  bare.hostname.clear();
  bare.interface.clear();
  CHECK(decode(encode(bare)) == bare);

  // The longest event, in the characters JSON escapes most, still fits.
  auto longest = e;
  longest.hostname = std::string(255, '"');
  longest.interface = "abcdefghijklmno";
  longest.ip = *util::Ipv4::parse("255.255.255.255");
  const std::string datagram = encode(longest);
  CHECK(datagram.size() <= kMaxDatagram);
  CHECK(datagram.find('\n') == std::string::npos);
  CHECK(decode(datagram) == longest);

  auto unicode = e;
  unicode.hostname = "k\xc3\xbc" "che";
  CHECK(decode(encode(unicode)) == unicode);

  // What parse_dhcp_event returns, decode takes back.
  const auto parsed = parse({"old", "AC-63-BE-00-00-01", "10.77.0.201", "bedroom"});
  REQUIRE(parsed.event);
  CHECK(decode(encode(*parsed.event)) == parsed.event);
}

TEST_CASE("decode accepts the fields in any order and with white space") {
  CHECK(decode(R"( { "interface" : "br-iot", "host": "bedroom", "ip": "10.77.0.201",
                     "mac": "ac:63:be:00:00:01", "action": "old", "v": 1 } )") == sample_event());
}

TEST_CASE("decode refuses every datagram encode could not have written") {
  const std::string ok = kSampleDatagram;
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string s = ok;
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  const std::vector<std::string> bad{
      "",
      " ",
      "null",
      "1",
      "\"old\"",
      "[]",
      "{}",
      "[" + ok + "]",
      ok + ok,
      ok + "x",
      ok.substr(0, ok.size() - 1),
      std::string("\0", 1) + ok,
      // version
      with(R"("v":1)", R"("v":2)"),
      with(R"("v":1)", R"("v":0)"),
      with(R"("v":1)", R"("v":-1)"),
      with(R"("v":1)", R"("v":1.0)"),
      with(R"("v":1)", R"("v":"1")"),
      with(R"("v":1)", R"("v":true)"),
      with(R"("v":1)", R"("v":null)"),
      with(R"("v":1,)", ""),
      // fields missing, extra, repeated
      with(R"(,"interface":"br-iot")", ""),
      with(R"(,"host":"bedroom")", ""),
      with(R"("action":"old",)", ""),
      with(R"("mac":"ac:63:be:00:00:01",)", ""),
      with(R"("ip":"10.77.0.201",)", ""),
      with(R"("v":1,)", R"("v":1,"extra":0,)"),
      with(R"("v":1,)", R"("v":1,"V":1,)"),
      with(R"("v":1,)", R"("v":1,"v":1,)"),
      with(R"("action":"old",)", R"("action":"del","action":"old",)"),
      with(R"("host":"bedroom")", R"("host":"bedroom","host":"kitchen")"),
      // action
      with(R"("action":"old")", R"("action":"del")"),
      with(R"("action":"old")", R"("action":"init")"),
      with(R"("action":"old")", R"("action":"OLD")"),
      with(R"("action":"old")", R"("action":"")"),
      with(R"("action":"old")", R"("action":1)"),
      with(R"("action":"old")", R"("action":["old"])"),
      // MAC
      with("ac:63:be:00:00:01", "ac:63:be:00:00"),
      with("ac:63:be:00:00:01", "ac:63:be:00:00:01:02"),
      with("ac:63:be:00:00:01", "AC:63:BE:00:00:01"),
      with("ac:63:be:00:00:01", "ac-63-be-00-00-01"),
      with("ac:63:be:00:00:01", "zz:63:be:00:00:01"),
      with("ac:63:be:00:00:01", "06-ac:63:be:00:00:01"),
      with("ac:63:be:00:00:01", ""),
      with(R"("ac:63:be:00:00:01")", "null"),
      with(R"("ac:63:be:00:00:01")", "189315203743745"),
      // IP
      with("10.77.0.201", "10.77.0"),
      with("10.77.0.201", "10.77.0.256"),
      with("10.77.0.201", "010.77.0.201"),
      with("10.77.0.201", "fd00::201"),
      with("10.77.0.201", " 10.77.0.201"),
      with(R"("10.77.0.201")", "172818633"),
      // host
      with("bedroom", "bed\\nroom"),
      with("bedroom", "bed\\u0000room"),
      with("bedroom", "bed\\u007froom"),
      with("bedroom", "bed\\troom"),
      with("bedroom", std::string(256, 'a')),
      with("bedroom", "\xff"),
      with("bedroom", "\\ud800"),
      with(R"("bedroom")", "null"),
      with(R"("bedroom")", "7"),
      // interface
      with("br-iot", "abcdefghijklmnop"),
      with("br-iot", "br iot"),
      with("br-iot", "br/iot"),
      with("br-iot", "br\\niot"),
      with(R"("br-iot")", "{}"),
      // too long, even if it were JSON
      with("bedroom", std::string(255, 'a')) + std::string(kMaxDatagram, ' '),
      std::string(kMaxDatagram + 1, '{'),
      std::string(kMaxDatagram, '['),
  };
  for (const auto& datagram : bad) {
    INFO(datagram);
    std::optional<LeaseEvent> e;
    REQUIRE_NOTHROW(e = decode(datagram));
    CHECK_FALSE(e);
  }
}

TEST_CASE("decode never throws on arbitrary bytes") {
  // A fixed pseudo-random sequence (the fuzz target goes further): mutations of a good datagram.
  uint32_t state = 12345;
  const auto next = [&state] {
    state = state * 1103515245u + 12345u;
    return state >> 8;
  };
  for (int i = 0; i < 2000; ++i) {
    std::string s = kSampleDatagram;
    for (int k = 0, n = static_cast<int>(next() % 4) + 1; k < n; ++k)
      s[next() % s.size()] = static_cast<char>(next() & 0xff);
    CHECK_NOTHROW(decode(s));
  }
}

TEST_CASE("event_problem agrees with what parse and decode accept") {
  CHECK_FALSE(event_problem(sample_event()));
  auto e = sample_event();
  e.action = "del";
  CHECK(event_problem(e));
  e = sample_event();
  e.interface = std::string(16, 'a');
  CHECK(event_problem(e));
}

TEST_CASE("send_event delivers exactly the datagram to a bound socket") {
  TempDir dir;
  const std::string path = dir / "events.sock";
  const auto daemon_side = bound_socket(path);
  std::string error = "untouched";
  REQUIRE(send_event(path, kSampleDatagram, &error) == Sent::sent);
  CHECK(error == "untouched");
  char buf[kMaxDatagram + 1];
  const ssize_t n = ::recv(daemon_side.get(), buf, sizeof buf, MSG_DONTWAIT);
  REQUIRE(n == static_cast<ssize_t>(kSampleDatagram.size()));
  CHECK(std::string(buf, static_cast<size_t>(n)) == kSampleDatagram);
  CHECK(::recv(daemon_side.get(), buf, sizeof buf, MSG_DONTWAIT) < 0);  // one datagram, no more
}

TEST_CASE("send_event to a missing socket finds no daemon") {
  TempDir dir;
  std::string error;
  CHECK(send_event(dir / "events.sock", kSampleDatagram, &error) == Sent::no_daemon);
  CHECK_FALSE(error.empty());
  CHECK(send_event(dir / "no-such-dir/events.sock", kSampleDatagram) == Sent::no_daemon);
}

TEST_CASE("send_event to a socket whose daemon is gone finds no daemon") {
  TempDir dir;
  const std::string path = dir / "events.sock";
  bound_socket(path);  // bound, then closed: the file stays behind, as after a crash
  CHECK(send_event(path, kSampleDatagram) == Sent::no_daemon);
  // A file that is no socket at all.
  const auto file = dir.write("plain", "x");
  CHECK(send_event(file, kSampleDatagram) == Sent::no_daemon);
}

TEST_CASE("send_event drops rather than waits when the daemon's queue is full") {
  TempDir dir;
  const std::string path = dir / "events.sock";
  const auto daemon_side = bound_socket(path);
  Sent last = Sent::sent;
  int sent = 0;
  for (; sent < 100000 && last == Sent::sent; ++sent) last = send_event(path, kSampleDatagram);
  CHECK(last == Sent::busy);
  CHECK(sent > 1);
}

TEST_CASE("send_event fails on a path no unix socket can have or a socket of another type") {
  std::string error;
  CHECK(send_event("/tmp/" + std::string(103, 'x'), kSampleDatagram, &error) == Sent::failed);
  CHECK(error.find("107") != std::string::npos);
  CHECK(send_event("", kSampleDatagram) == Sent::failed);

  TempDir dir;
  const std::string path = dir / "stream.sock";
  const auto stream = bound_socket(path, SOCK_STREAM);
  REQUIRE(::listen(stream.get(), 1) == 0);
  error.clear();
  CHECK(send_event(path, kSampleDatagram, &error) == Sent::failed);
  CHECK(error.find(path) != std::string::npos);
}
