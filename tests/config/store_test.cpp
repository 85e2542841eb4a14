// SPDX-License-Identifier: GPL-2.0-or-later
// Writing buttons: add, rename and remove round trips through the loader.

#include "support/catch.h"

#include <filesystem>

#include "config/load.h"
#include "config/store.h"
#include "support/tmpdir.h"
#include "util/fs.h"

using namespace dashctl::config;
using dashctl::test::TempDir;
using dashctl::util::Error;
using dashctl::util::Exit;

namespace {

const std::string kMain =
    "[network]\niot_interface = \"br-iot\"\nlisten_address = \"10.77.0.1\"\n"
    "subnet = \"10.77.0.0/24\"\n[mqtt]\nurl = \"mqtt://localhost\"\n";

Button sample() {
  Button b;
  b.name = "bedroom";
  b.mac = dashctl::util::Mac::parse("68:54:fd:12:34:56");
  b.ip = dashctl::util::Ipv4::parse("10.77.0.201");
  b.window = std::chrono::milliseconds(2500);
  b.battery_capacity = std::chrono::seconds(5400);
  b.battery_warning = 0;
  MqttAction m;
  m.topic = "bedroom/light/toggle";
  m.payload = R"({"button":"{button}","n":{count}} 'quoted' "double" \ back)";
  m.qos = 2;
  m.retain = true;
  ExecAction e;
  e.argv = {"/usr/local/bin/chime", "--button", "{button}", "with space", "new\nline"};
  e.timeout = std::chrono::seconds(5);
  WebhookAction w;
  w.url = "https://hass.local:8123/api/webhook/{button}";
  w.method = "PUT";
  w.headers = {{"Authorization", "Bearer x"}};
  w.body = "{mac}";
  b.on_press = {m, e, w};
  return b;
}

Exit code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return Exit::ok;
}

}  // namespace

TEST_CASE("an added button reads back equal, every field and awkward string intact") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain);
  const Button want = sample();
  add_button(path, want);
  const auto c = load(path);
  REQUIRE(c.buttons.size() == 1);
  const auto& got = c.buttons[0];
  CHECK(got.name == want.name);
  CHECK(got.mac == want.mac);
  CHECK(got.ip == want.ip);
  CHECK(got.window == want.window);
  CHECK(got.battery_capacity == want.battery_capacity);
  CHECK(got.battery_warning == want.battery_warning);
  CHECK(got.own_file);
  CHECK(got.where.file == dir / "buttons.d/bedroom.toml");
  REQUIRE(got.on_press.size() == 3);
  const auto& m = std::get<MqttAction>(got.on_press[0]);
  const auto& wm = std::get<MqttAction>(want.on_press[0]);
  CHECK(m.topic == wm.topic);
  CHECK(m.payload == wm.payload);
  CHECK(m.qos == wm.qos);
  CHECK(m.retain == wm.retain);
  const auto& e = std::get<ExecAction>(got.on_press[1]);
  CHECK(e.argv == std::get<ExecAction>(want.on_press[1]).argv);
  CHECK(e.timeout == std::chrono::seconds(5));
  const auto& w = std::get<WebhookAction>(got.on_press[2]);
  const auto& ww = std::get<WebhookAction>(want.on_press[2]);
  CHECK(w.url == ww.url);
  CHECK(w.method == ww.method);
  CHECK(w.headers == ww.headers);
  CHECK(w.body == ww.body);
}

TEST_CASE("add never replaces and never writes an invalid config") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain + "[[button]]\nname = \"inline\"\nip = \"10.77.0.9\"\n");
  add_button(path, sample());
  const auto before = dashctl::util::read_file(dir / "buttons.d/bedroom.toml");
  CHECK(code_of([&] { add_button(path, sample()); }) == Exit::data);  // same name

  Button same_mac = sample();
  same_mac.name = "other";
  same_mac.ip.reset();
  CHECK(code_of([&] { add_button(path, same_mac); }) == Exit::data);

  Button same_ip;
  same_ip.name = "other";
  same_ip.ip = dashctl::util::Ipv4::parse("10.77.0.9");  // the inline button's
  CHECK(code_of([&] { add_button(path, same_ip); }) == Exit::data);

  Button inline_name;
  inline_name.name = "inline";
  inline_name.ip = dashctl::util::Ipv4::parse("10.77.0.10");
  CHECK(code_of([&] { add_button(path, inline_name); }) == Exit::data);

  CHECK(dashctl::util::read_file(dir / "buttons.d/bedroom.toml") == before);
  CHECK_FALSE(std::filesystem::exists(dir / "buttons.d/other.toml"));
  CHECK_FALSE(std::filesystem::exists(dir / "buttons.d/inline.toml"));
}

TEST_CASE("add refuses when the existing config is broken") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain + "bogus = 1\n");
  CHECK_THROWS_AS(add_button(path, sample()), ConfigError);
  CHECK_FALSE(std::filesystem::exists(dir / "buttons.d"));
}

TEST_CASE("rename moves the file and keeps the content") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain + "[[button]]\nname = \"inline\"\nip = \"10.77.0.9\"\n");
  add_button(path, sample());
  const auto content = dashctl::util::read_file(dir / "buttons.d/bedroom.toml");
  rename_button(path, "bedroom", "guest-room");
  CHECK_FALSE(std::filesystem::exists(dir / "buttons.d/bedroom.toml"));
  CHECK(dashctl::util::read_file(dir / "buttons.d/guest-room.toml") == content);
  CHECK(load(path).find_button("guest-room"));
  CHECK(code_of([&] { rename_button(path, "guest-room", "inline"); }) == Exit::data);
  CHECK(code_of([&] { rename_button(path, "inline", "x"); }) == Exit::data);
  CHECK(code_of([&] { rename_button(path, "nope", "x"); }) == Exit::data);
  CHECK(code_of([&] { rename_button(path, "guest-room", "Bad Name"); }) == Exit::data);
  CHECK(load(path).buttons.size() == 2);
}

TEST_CASE("remove deletes only a button's own file") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain + "[[button]]\nname = \"inline\"\nip = \"10.77.0.9\"\n");
  add_button(path, sample());
  CHECK(code_of([&] { remove_button(path, "inline"); }) == Exit::data);
  CHECK(code_of([&] { remove_button(path, "nope"); }) == Exit::data);
  remove_button(path, "bedroom");
  CHECK_FALSE(std::filesystem::exists(dir / "buttons.d/bedroom.toml"));
  const auto c = load(path);
  REQUIRE(c.buttons.size() == 1);
  CHECK(c.buttons[0].name == "inline");
}

TEST_CASE("remove works on the very button that breaks the config") {
  TempDir dir;
  const auto path = dir.write("dashctl.toml", kMain);
  dir.write("buttons.d/broken.toml", "mac = 12\n");
  CHECK_FALSE(check(path).problems.empty());
  remove_button(path, "broken");
  CHECK(check(path).problems.empty());
}
