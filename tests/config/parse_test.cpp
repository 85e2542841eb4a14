// SPDX-License-Identifier: GPL-2.0-or-later
// One failing config per validation rule: each asserts the message and that it points at
// the right line and column (the first occurrence of `at` in the text).

#include "support/catch.h"

#include "config/parse.h"

using namespace dashctl::config;

namespace {

const std::string kNet =
    "[network]\n"
    "iot_interface = \"br-iot\"\n"
    "listen_address = \"10.77.0.1\"\n"
    "subnet = \"10.77.0.0/24\"\n";

const std::string kMqtt = "[mqtt]\nurl = \"mqtt://10.77.0.1:1883\"\n";

std::vector<Diagnostic> problems_of(const std::string& text) {
  Config c;
  c.path = "t.toml";
  std::vector<Diagnostic> problems;
  parse_main(text, "t.toml", c, problems);
  if (problems.empty()) validate(c, problems);
  return problems;
}

/// 1-based line and column of the first `at` in `text`.
std::pair<int, int> position(const std::string& text, const std::string& at,
                             const std::string& after) {
  const auto offset = text.find(at, after.empty() ? 0 : text.find(after));
  REQUIRE(offset != std::string::npos);
  int line = 1, col = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

struct Case {
  const char* rule;
  std::string text;
  std::string at;       ///< where the problem must point
  std::string message;  ///< a part of the message
  std::string after{};  ///< look for `at` only after this
};

std::string button(const std::string& body) { return "[[button]]\nname = \"b1\"\n" + body; }

}  // namespace

TEST_CASE("a good config has no problems and keeps the defaults it leaves out") {
  Config c;
  std::vector<Diagnostic> problems;
  parse_main(kNet + kMqtt + button("mac = \"ac:63:be:00:00:01\"\n"), "t.toml", c, problems);
  validate(c, problems);
  for (const auto& p : problems) INFO(p.str());
  REQUIRE(problems.empty());
  CHECK(c.network.iot_interface == "br-iot");
  CHECK(c.network.listen_port == 1443);
  CHECK(c.network.intercept_ports == std::vector<uint16_t>{443});
  CHECK(c.network.isolate);
  CHECK(c.network.force_dns);
  CHECK(c.network.tls);
  CHECK(c.network.ntp);
  CHECK(c.network.ntp_port == 1123);
  CHECK(c.daemon.state_dir == default_daemon_state_dir());
  CHECK(c.intercept.hostnames == default_hostnames());
  CHECK(c.dnsmasq.conf_dir == "/etc/dnsmasq.d");
  CHECK(c.dnsmasq.reload.kind == Reload::Kind::pidfile);
  REQUIRE(c.mqtt);
  CHECK(c.mqtt->host == "10.77.0.1");
  CHECK(c.mqtt->port == 1883);
  CHECK(c.mqtt->qos == 1);
  REQUIRE(c.buttons.size() == 1);
  CHECK(c.buttons[0].window == std::chrono::seconds(10));
  CHECK(c.buttons[0].battery_capacity == std::chrono::seconds(7000));
  CHECK(c.buttons[0].battery_warning == 25);
  CHECK_FALSE(c.buttons[0].own_file);
}

TEST_CASE("the design's example config is valid") {
  const std::string text = kNet + R"(listen_port = 1443
intercept_ports = [443]
lease_range = "10.77.0.200-10.77.0.249"
isolate = true
force_dns = true

[intercept]
hostnames = ["dash-button-na-aws-opf.amazon.com", "parker-gateway-na.amazon.com"]

[dnsmasq]
conf_dir = "/etc/dnsmasq.d"
state_dir = "/var/lib/dashctl"
reload = "pidfile:/run/dnsmasq/dnsmasq.pid"

[mqtt]
url = "mqtt://localhost:1883"
topic_prefix = "dashctl"
homeassistant = true

[[button]]
name = "bedroom"
mac  = "68:54:fd:12:34:56"
ip   = "10.77.0.201"
window = "10s"
on_press = [
  { mqtt = { topic = "bedroom/light/toggle", payload = "TOGGLE" } },
  { exec = ["/usr/local/bin/chime", "--button", "{button}"] },
  { webhook = { url = "http://hass.local:8123/api/webhook/bedroom", method = "POST" } },
]
)";
  const auto problems = problems_of(text);
  for (const auto& p : problems) INFO(p.str());
  CHECK(problems.empty());
}

TEST_CASE("every validation rule reports its problem at its place") {
  const std::vector<Case> cases{
      {"syntax", kNet + "listen_port = = 1\n", "= 1", ""},
      {"unknown top-level key", kNet + "[mqqt]\n", "mqqt", "unknown key 'mqqt' (did you mean 'mqtt'?)"},
      {"misspelt key", kNet + "iot_interfce = \"x\"\n", "iot_interfce",
       "unknown key 'iot_interfce' in [network] (did you mean 'iot_interface'?)"},
      {"no network section", kMqtt, "[mqtt]", "missing [network] section"},
      {"no interface", "[network]\nlisten_port = 1443\n", "[network]", "missing network.iot_interface"},
      {"interface name", "[network]\niot_interface = \"a-very-long-name\"\n", "\"a-very",
       "interface names are at most 15 characters"},
      {"interface type", "[network]\niot_interface = 7\n", "7", "network.iot_interface must be a string, not an integer"},
      {"bad listen address", "[network]\niot_interface = \"br\"\nlisten_address = \"10.77.0\"\n", "\"10.77.0\"",
       "'10.77.0' is not an IPv4 address"},
      {"subnet host bits", "[network]\niot_interface = \"br\"\nsubnet = \"10.77.0.1/24\"\n", "\"10.77.0.1/24\"",
       "host bits are set (did you mean 10.77.0.0/24?)"},
      {"subnet without listen address",
       "[network]\niot_interface = \"br\"\nlisten_address = \"10.1.0.1\"\nsubnet = \"10.77.0.0/24\"\n",
       "\"10.77.0.0/24\"", "does not contain listen_address 10.1.0.1"},
      {"port range", kNet + "listen_port = 70000\n", "70000", "must be a port from 1 to 65535, not 70000"},
      {"privileged port", kNet + "listen_port = 80\n", "80", "must be 1024 or above"},
      {"privileged NTP port", kNet + "ntp_port = 123\n", "123", "network.ntp_port must be 1024 or above"},
      {"tls not a boolean", kNet + "tls = \"yes\"\n", "\"yes\"", "network.tls must be true or false"},
      {"relative state_dir", kNet + "[daemon]\nstate_dir = \"state\"\n", "\"state\"", "daemon.state_dir"},
      {"port type", kNet + "listen_port = \"1443\"\n", "\"1443\"",
       "network.listen_port must be a port: an integer from 1 to 65535, not a string"},
      {"port with a decimal point", kNet + "listen_port = 1443.0\n", "1443.0",
       "network.listen_port must be a port: an integer from 1 to 65535, not a decimal number (write 1443)"},
      {"port a fraction", kNet + "intercept_ports = [443.5]\n", "443.5",
       "network.intercept_ports must be a port: an integer from 1 to 65535, not a decimal number"},
      {"intercept port twice", kNet + "intercept_ports = [443, 443]\n", "443]", "lists 443 twice"},
      {"intercept port is listen port", kNet + "intercept_ports = [443, 1443]\n", "1443]",
       "cannot contain listen_port 1443"},
      {"no intercept ports", kNet + "intercept_ports = []\n", "[]", "needs at least one port"},
      {"lease range syntax", kNet + "lease_range = \"10.77.0.200\"\n", "\"10.77.0.200\"",
       "expected a range such as"},
      {"lease range reversed", kNet + "lease_range = \"10.77.0.249-10.77.0.200\"\n", "\"10.77.0.249",
       "the range ends before it starts"},
      {"lease range outside subnet", kNet + "lease_range = \"10.77.0.200-10.77.1.10\"\n", "\"10.77.0.200",
       "is not inside the IoT subnet 10.77.0.0/24"},
      {"lease range holds listen address", kNet + "lease_range = \"10.77.0.1-10.77.0.20\"\n",
       "\"10.77.0.1-", "contains listen_address 10.77.0.1"},
      {"lease range holds broadcast", kNet + "lease_range = \"10.77.0.200-10.77.0.255\"\n",
       "\"10.77.0.200", "contains the network or broadcast address"},
      {"bool type", kNet + "isolate = \"yes\"\n", "\"yes\"", "network.isolate must be true or false, not a string"},
      {"bad hostname", kNet + "[intercept]\nhostnames = [\"ok.com\", \"bad_name.com\"]\n", "\"bad_name",
       "is not a host name"},
      {"hostname smuggling", kNet + "[intercept]\nhostnames = [\"x.com\\naddress=/#/1.2.3.4\"]\n", "\"x.com",
       "is not a host name"},
      {"hostname twice", kNet + "[intercept]\nhostnames = [\"a.com\", \"A.com\"]\n", "\"A.com\"", "lists 'a.com' twice"},
      {"relative conf_dir", kNet + "[dnsmasq]\nconf_dir = \"etc/dnsmasq.d\"\n", "\"etc/", "must be an absolute path"},
      {"state_dir syntax", kNet + "[dnsmasq]\nstate_dir = \"/var/lib/dash ctl\"\n", "\"/var/lib/dash",
       "dnsmasq.state_dir cannot contain spaces"},
      {"state_dir is conf_dir", kNet + "[dnsmasq]\nconf_dir = \"/etc/d\"\nstate_dir = \"/etc/d\"\n", "\"/etc/d\"",
       "must differ from conf_dir", "state_dir"},
      {"daemon limits", kNet + "[daemon]\nmax_connections = 0\n", "0\n", "daemon.max_connections must be 1 to 65535"},
      {"daemon socket", kNet + "[daemon]\ncontrol_socket = \"run/x\"\n", "\"run/x\"", "must be an absolute path"},
      {"bad reload", kNet + "[dnsmasq]\nreload = \"killall\"\n", "\"killall\"", "dnsmasq.reload must be"},
      {"relative reload command", kNet + "[dnsmasq]\nreload = [\"pkill\", \"-HUP\", \"dnsmasq\"]\n", "\"pkill\"",
       "the program must be an absolute path"},
      {"broker url", kNet + "[mqtt]\nurl = \"http://broker\"\n", "\"http://", "is not a broker URL"},
      {"broker port", kNet + "[mqtt]\nurl = \"mqtt://broker:99999\"\n", "\"mqtt://", "is not a broker URL"},
      {"qos", kNet + "[mqtt]\nqos = 3\n", "3", "mqtt.qos must be 0, 1 or 2"},
      {"topic prefix wildcard", kNet + "[mqtt]\ntopic_prefix = \"home/#\"\n", "\"home/#\"", "subscription wildcards"},
      {"queue limit", kNet + "[mqtt]\nqueue_limit = -1\n", "-1", "mqtt.queue_limit must be 0 to 1000000"},
      {"unknown mqtt key", kNet + "[mqtt]\nhost = \"x\"\n", "host", "unknown key 'host' in [mqtt]"},
      {"button name", kNet + "[[button]]\nname = \"Bed Room\"\nmac = \"ac:63:be:00:00:01\"\n", "\"Bed Room\"",
       "button name 'Bed Room' is not valid"},
      {"button without name", kNet + "[[button]]\nmac = \"ac:63:be:00:00:01\"\n", "[[button]]",
       "missing button[0].name"},
      {"button without mac or ip", kNet + button("window = \"5s\"\n"), "[[button]]",
       "needs a mac or an ip"},
      {"bad mac", kNet + button("mac = \"ac:63:be:00:01\"\n"), "\"ac:63", "is not a MAC address"},
      {"multicast mac", kNet + button("mac = \"01:00:5e:00:00:01\"\n"), "\"01:00", "is not a device's address"},
      {"bad ip", kNet + button("ip = \"10.77.0.300\"\n"), "\"10.77.0.300\"", "is not an IPv4 address"},
      {"bad window", kNet + button("mac = \"ac:63:be:00:00:01\"\nwindow = \"10\"\n"), "\"10\"",
       "'10' is not a duration"},
      {"window too long to hold", kNet + button("mac = \"ac:63:be:00:00:01\"\nwindow = \"99999999999999h\"\n"),
       "\"9999", "window: '99999999999999h' is out of range: it must be between 100ms and 1h"},
      {"window range", kNet + button("mac = \"ac:63:be:00:00:01\"\nwindow = \"5ms\"\n"), "\"5ms\"",
       "must be between 100ms and 1h"},
      {"bad battery_capacity", kNet + button("mac = \"ac:63:be:00:00:01\"\nbattery_capacity = 7000\n"), "7000",
       "battery_capacity"},
      {"battery_capacity range", kNet + button("mac = \"ac:63:be:00:00:01\"\nbattery_capacity = \"30s\"\n"),
       "\"30s\"", "must be between 1m and 1000h"},
      {"battery_warning range", kNet + button("mac = \"ac:63:be:00:00:01\"\nbattery_warning = 100\n"), "100",
       "from 0 (never warn) to 99"},
      {"unknown button key", kNet + button("mac = \"ac:63:be:00:00:01\"\nwindw = \"5s\"\n"), "windw",
       "(did you mean 'window'?)"},
      {"name twice",
       kNet + button("mac = \"ac:63:be:00:00:01\"\n") + button("mac = \"ac:63:be:00:00:02\"\n"),
       "\"b1\"\nmac = \"ac:63:be:00:00:02", "button 'b1' is defined twice: here and at t.toml:6:8"},
      {"mac twice",
       kNet + button("mac = \"ac:63:be:00:00:01\"\n") +
           "[[button]]\nname = \"b2\"\nmac = \"AC:63:BE:00:00:01\"\n",
       "\"AC:63", "MAC ac:63:be:00:00:01 of button 'b2' is already used by button 'b1' (t.toml:7:7)"},
      {"ip twice",
       kNet + button("ip = \"10.77.0.9\"\n") + "[[button]]\nname = \"b2\"\nip = \"10.77.0.9\"\n",
       "\"10.77.0.9\"", "is already used by button 'b1'", "\"b2\""},
      {"ip outside subnet", kNet + button("ip = \"10.78.0.9\"\n"), "\"10.78.0.9\"",
       "is not inside the IoT subnet 10.77.0.0/24"},
      {"ip is listen address", kNet + button("ip = \"10.77.0.1\"\n"), "\"10.77.0.1\"",
       "is the listen address", "\"b1\""},
      {"unknown action", kNet + kMqtt + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ mqt = { topic = \"a\" } }]\n"),
       "mqt =", "unknown action 'mqt' (mqtt, exec or webhook) (did you mean 'mqtt'?)"},
      {"two kinds in one action",
       kNet + kMqtt + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ mqtt = { topic = \"a\" }, exec = [\"/bin/true\"] }]\n"),
       "{ mqtt", "must have exactly one of mqtt, exec or webhook"},
      {"mqtt without topic", kNet + kMqtt + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ mqtt = { payload = \"x\" } }]\n"),
       "{ payload", "missing button[0].on_press[0].mqtt.topic"},
      {"mqtt topic wildcard", kNet + kMqtt + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ mqtt = { topic = \"a/+\" } }]\n"),
       "\"a/+\"", "subscription wildcards"},
      {"unknown placeholder", kNet + kMqtt + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ mqtt = { topic = \"a/{buton}\" } }]\n"),
       "\"a/{buton}\"", "unknown placeholder {buton} (did you mean {button}?)"},
      {"mqtt action without broker", kNet + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ mqtt = { topic = \"a\" } }]\n"),
       "\"b1\"", "has an mqtt action but t.toml has no [mqtt] section"},
      {"exec relative program", kNet + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ exec = [\"chime\"] }]\n"),
       "\"chime\"", "the program must be an absolute path, not 'chime'"},
      {"exec templated program", kNet + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ exec = [\"/bin/{button}\"] }]\n"),
       "\"/bin/{", "the program cannot contain placeholders"},
      {"exec empty", kNet + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ exec = [] }]\n"),
       "[] }", "needs at least the program to run"},
      {"exec argument type", kNet + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ exec = [\"/bin/echo\", 1] }]\n"),
       "1] }", "on_press[0].exec[1] must be a string, not an integer"},
      {"exec timeout", kNet + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ exec = { argv = [\"/bin/true\"], timeout = \"2d\" } }]\n"),
       "\"2d\"", "'2d' is not a duration"},
      {"webhook scheme", kNet + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ webhook = { url = \"ftp://x/\" } }]\n"),
       "\"ftp://x/\"", "must start with http:// or https://"},
      {"webhook no host", kNet + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ webhook = { url = \"http:///x\" } }]\n"),
       "\"http:///x\"", "has no host"},
      {"webhook method", kNet + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ webhook = { url = \"http://x/\", method = \"post\" } }]\n"),
       "\"post\"", "must be GET, POST, PUT, PATCH or DELETE (did you mean 'POST'?)"},
      {"webhook header injection",
       kNet + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ webhook = { url = \"http://x/\", headers = { X-A = \"1\\r\\nHost: evil\" } } }]\n"),
       "\"1\\r", "cannot contain control characters"},
      {"webhook header name",
       kNet + button("mac = \"ac:63:be:00:00:01\"\non_press = [{ webhook = { url = \"http://x/\", headers = { \"X A\" = \"1\" } } }]\n"),
       "\"X A\"", "is not a valid HTTP header name"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.rule) {
      INFO(c.text);
      const auto problems = problems_of(c.text);
      REQUIRE_FALSE(problems.empty());
      const auto [line, col] = position(c.text, c.at, c.after);
      bool found = false;
      for (const auto& p : problems) {
        INFO(p.str());
        if (p.message.find(c.message) != std::string::npos && p.where.line == line &&
            p.where.column == col && p.where.file == "t.toml")
          found = true;
      }
      for (const auto& p : problems) UNSCOPED_INFO(p.str());
      INFO("wanted t.toml:" << line << ":" << col << ": ..." << c.message);
      CHECK(found);
    }
  }
}

TEST_CASE("all problems are reported, not just the first") {
  const auto problems = problems_of(
      "[network]\niot_interface = \"br-iot\"\nlisten_port = 1\nisolate = 3\nbogus = 1\n");
  CHECK(problems.size() == 3);
}

TEST_CASE("a button file is named after the file and cannot name itself") {
  std::vector<Diagnostic> problems;
  auto b = parse_button_file("mac = \"ac:63:be:00:00:01\"\n", "d/hall.toml", "hall", problems);
  REQUIRE(b);
  CHECK(b->name == "hall");
  CHECK(b->own_file);
  CHECK(problems.empty());
  b = parse_button_file("name = \"other\"\nmac = \"ac:63:be:00:00:01\"\n", "d/hall.toml", "hall", problems);
  CHECK_FALSE(b);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].str() ==
        "d/hall.toml:1:8: a button file has no 'name': the button is named after its file (hall)");
}

TEST_CASE("more rules: empty host list, addresses that no device can have") {
  CHECK(problems_of(kNet + "[intercept]\nhostnames = []\n").at(0).message ==
        "intercept.hostnames needs at least one host name");
  CHECK(problems_of(kNet + button("ip = \"224.0.0.1\"\n")).at(0).message ==
        "button[0].ip: 224.0.0.1 cannot be a device's address");
  CHECK(problems_of("[network]\niot_interface = \"br\"\n" + button("ip = \"0.0.0.5\"\n")).at(0).message ==
        "button[0].ip: 0.0.0.5 cannot be a device's address");
}

TEST_CASE("a button without a mac or an ip is told what to add, and where") {
  std::vector<Diagnostic> problems;
  CHECK_FALSE(parse_button_file("", "/etc/dashctl/buttons.d/x.toml", "x", problems));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].str() ==
        "/etc/dashctl/buttons.d/x.toml:1:1: button 'x' needs a mac or an ip to be recognised by: add mac = "
        "\"<its MAC address>\" (or ip = \"<its static address>\") to buttons.d/x.toml");
  const auto inline_problems = problems_of(kNet + button("window = \"5s\"\n"));
  REQUIRE(inline_problems.size() == 1);
  CHECK(inline_problems[0].message ==
        "button 'b1' needs a mac or an ip to be recognised by: add mac = \"<its MAC address>\" (or ip = "
        "\"<its static address>\") to its [[button]] table");
}
