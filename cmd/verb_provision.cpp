// SPDX-License-Identifier: GPL-2.0-or-later
// dashctl provision: puts a Dash button in setup mode on the buttons' Wi-Fi without Amazon.
// Reads its device info (lib/provision), makes sure it lands isolated (the button added by
// its MAC with a static lease, setup applied and checked), then sends the network.

#include <signal.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli.h"
#include "config/load.h"
#include "config/store.h"
#include "learn/learn.h"
#include "learn/new_button.h"
#include "plumbing/button.h"
#include "plumbing/plumbing.h"
#include "provision/device.h"
#include "provision/http.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/net.h"
#include "util/text.h"

namespace dashctl::cmd {
namespace {

using util::Error;
using util::Exit;
using namespace std::chrono_literals;

struct ProvisionOptions {
  bool info = false;
  std::string ssid;
  bool ssid_given = false;
  std::string passphrase_file;
  std::string name;
  PressOptions press;
  bool force = false;
  bool no_isolation_check = false;
  std::string address{provision::kButtonAddress};
  std::string interface;
  std::string timeout = "10s";
};

/// How long the button gets to answer the settings before its silence counts as taking them.
constexpr auto kDeliveryWait = 5s;
constexpr size_t kMaxPassphraseInput = 4096;

const char* kJoinHint =
    "join its setup network first: hold the button about 6 s, until its light blinks blue, then connect this "
    "machine's Wi-Fi to 'Amazon ConfigureMe' (for example: nmcli device wifi connect 'Amazon ConfigureMe' ifname "
    "wlan0); the button leaves setup mode after a few minutes";

// ---- the device info -------------------------------------------------------------------------

provision::Response fetch(const provision::Endpoint& ep, bool json) {
  try {
    return provision::get(ep, "/", json);
  } catch (const Error& e) {
    if (e.code() == Exit::unavailable)
      throw Error(Exit::unavailable, "provision: cannot reach the button at " + ep.address + ": " + e.what(), kJoinHint);
    throw Error(e.code(), "provision: the button at " + ep.address + ": " + e.what());
  }
}

std::optional<provision::DeviceInfo> parse_answer(const provision::Response& r, std::string& why) {
  if (r.status != 200) {
    why = "it answered HTTP " + std::to_string(r.status);
    return std::nullopt;
  }
  provision::ParseError err;
  auto info = provision::parse_page(r.body, err);
  if (!info) why = err.why;
  return info;
}

/// The JSON page first; the HTML page for what the JSON leaves out (firmware, battery), or
/// instead of it when the JSON is not there.
provision::DeviceInfo read_info(const provision::Endpoint& ep) {
  std::string json_why, html_why;
  auto info = parse_answer(fetch(ep, true), json_why);
  if (info && info->format != provision::DeviceInfo::Format::json) return *info;  // it answered HTML
  if (info && !info->firmware.empty() && info->battery) return *info;
  std::optional<provision::DeviceInfo> more;
  try {
    more = parse_answer(fetch(ep, false), html_why);
  } catch (const Error& e) {
    if (!info) throw;
    spdlog::info("provision: the HTML page, for the firmware and battery: {}", e.what());
  }
  if (!info && !more)
    throw Error(Exit::protocol,
                "provision: the page of the button at " + ep.address + " is in no format dashctl knows (as JSON: " +
                    json_why + "; as HTML: " + html_why + ")",
                "is it a Dash button in setup mode? -v shows more");
  if (!info) return *more;
  if (more) {
    if (const auto why = provision::merge(*info, *more))
      throw Error(Exit::protocol, "provision: the button at " + ep.address + " contradicts itself: " + *why);
  } else {
    spdlog::info("provision: the HTML page, for the firmware and battery: {}", html_why);
  }
  return *info;
}

// ---- the config, where there is one ----------------------------------------------------------

/// The config when there is one that loads; --info reads it only to name a known button.
std::optional<config::Config> optional_config(const Globals& g) {
  struct stat st {};
  if (::stat(g.config_path().c_str(), &st) != 0) return std::nullopt;
  try {
    return config::load(g.config_path());
  } catch (const std::exception& e) {
    spdlog::info("provision: the config is left aside: {}", e.what());
    return std::nullopt;
  }
}

/// Gives the running daemon the battery level the button reported, as a new battery's.
/// Returns what to tell the user, or nullopt when it was recorded.
std::optional<std::string> seed_battery(const config::Config& c, const std::string& name, int level) {
  try {
    give_battery(c, name, std::max(level, 1));
    return std::nullopt;
  } catch (const Error& e) {
    return std::string("the battery level was not recorded: ") + e.what();
  }
}

// ---- the passphrase --------------------------------------------------------------------------

/// The terminal's echo, off while the passphrase is typed; a signal meanwhile puts it back
/// before the process ends as the signal says.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd, &saved_) != 0) util::throw_system("reading the terminal's settings", errno);
    saved_fd_ = fd;
    saved_copy_ = saved_;
    struct sigaction sa {};
    sa.sa_handler = &EchoOff::restore_and_raise;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(s, &sa, nullptr);
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    if (::tcsetattr(fd, TCSADRAIN, &quiet) != 0) util::throw_system("turning the terminal's echo off", errno);
  }
  ~EchoOff() {
    ::tcsetattr(fd_, TCSADRAIN, &saved_);
    for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(s, SIG_DFL);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  static void restore_and_raise(int sig) {
    ::tcsetattr(saved_fd_, TCSADRAIN, &saved_copy_);
    ::raise(sig);  // SA_RESETHAND: the default action now
  }
  static inline int saved_fd_ = -1;
  static inline termios saved_copy_{};
  int fd_;
  termios saved_{};
};

/// One line from `fd`, without its line end; at most kMaxPassphraseInput bytes.
std::string read_line(int fd, const std::string& what) {
  std::string line;
  char c = 0;
  for (;;) {
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) util::throw_system("reading " + what, errno);
    if (n == 0 || c == '\n') break;
    line += c;
    if (line.size() > kMaxPassphraseInput)
      throw Error(Exit::data, "provision: " + what + " is longer than any passphrase");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

/// From --passphrase-file (a file, or - for standard input), else a prompt without echo on
/// a terminal, else the first line of standard input. Never from the command line.
std::string read_passphrase(const ProvisionOptions& o, const std::string& ssid) {
  if (o.passphrase_file == "-") return read_line(STDIN_FILENO, "the passphrase on standard input");
  if (!o.passphrase_file.empty()) {
    const auto content = util::read_file(o.passphrase_file, kMaxPassphraseInput);
    if (!content)
      throw Error(Exit::no_input, "provision: --passphrase-file: cannot read " + o.passphrase_file + ": " +
                                      util::errno_text(errno));
    std::string pw = content->substr(0, content->find('\n'));
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
    return pw;
  }
  if (!::isatty(STDIN_FILENO)) return read_line(STDIN_FILENO, "the passphrase on standard input");
  // The echo goes off before the prompt shows: what is typed after it is never echoed, nor
  // thrown away by the change of settings.
  EchoOff quiet(STDIN_FILENO);
  std::fprintf(stderr, "Passphrase for '%s' (not shown; empty for an open network): ",
               provision::printable(ssid).c_str());
  std::fflush(stderr);
  return read_line(STDIN_FILENO, "the passphrase");
}

// ---- isolation -------------------------------------------------------------------------------

struct Isolation {
  std::string name;
  std::optional<util::Ipv4> ip;
  std::string file;
  bool added = false;
  bool daemon_reloaded = false;
  std::vector<std::string> setup_lines;
};

bool press_options_given(const PressOptions& p) {
  return !p.window.empty() || !p.mqtt.empty() || !p.exec.empty() || !p.webhook.empty();
}

/// What isolating the button will do, found before anything is asked of the user or written:
/// the config, the privilege, the interface, and the button (known by its MAC, or new).
struct IsolationPlan {
  std::string path;
  config::Config config;
  bool set_up = false;
  std::optional<config::Button> known;  ///< the button with this MAC, already in the config
  std::optional<config::Button> added;  ///< else the one to add
};

IsolationPlan plan_isolation(const Globals& g, const ProvisionOptions& o, const util::Mac& mac) {
  IsolationPlan plan;
  plan.path = g.config_path();
  struct stat st {};
  if (::stat(plan.path.c_str(), &st) != 0)
    throw Error(Exit::no_input,
                "provision: no config at " + plan.path + ": dashctl cannot make sure the button lands isolated",
                "set this router up first ('sudo dashctl setup --iot-interface IFACE'); or, where another router "
                "isolates it, add it there ('sudo dashctl button add NAME --mac " + mac.str() +
                    "') and give --no-isolation-check here");
  plan.config = config::load(plan.path);
  try {
    plan.set_up = plumbing::live_host().setup_has_run();
  } catch (const Error& e) {
    if (e.code() != Exit::no_perm) throw;
    throw Error(Exit::no_perm,
                "provision: making sure the button lands isolated needs root: it adds the button with a static "
                "lease and applies setup before the button joins",
                "run 'sudo dashctl provision ...'; or, if the button is isolated another way, --no-isolation-check");
  }
  plumbing::resolve(plan.config);  // the interface and the addresses, before anything is written
  if (const auto* known = plan.config.find_button(mac)) {
    if (!o.name.empty() && o.name != known->name)
      throw Error(Exit::data, "provision: " + mac.str() + " is button '" + known->name + "' already",
                  "leave out --name, or rename it first: dashctl button rename " + known->name + " " + o.name);
    if (press_options_given(o.press))
      spdlog::warn("provision: {} is button '{}' already: its actions are left as they are", mac.str(), known->name);
    plan.known = *known;
    return plan;
  }
  auto b = learn::new_button(plan.config, mac, o.name);
  apply_press_options("provision", o.press, b);
  config::check_new_button(plan.path, b, "provision");
  plan.added = std::move(b);
  return plan;
}

/// Makes sure the button's very first packet on the IoT network meets dashctl's rules: the
/// button is in the config by its MAC (added when it is not), setup is applied, and status
/// finds the table and dnsmasq's files current.
Isolation isolate(IsolationPlan plan) {
  Isolation out;
  bool applied = false;
  if (plan.known) {
    const auto& k = *plan.known;
    out = {k.name, k.ip, k.own_file ? k.where.file : k.where.str(), false, false, {}};
  } else {
    const auto change = plumbing::button_changed(plan.path, plumbing::AddButton{*plan.added}, "provision");
    out = {plan.added->name, plan.added->ip, change.file, true, change.daemon_reloaded, change.lines};
    plan.config = config::load(plan.path);
    applied = change.setup == plumbing::ButtonChange::Setup::applied;
  }
  // Where setup has not run, or the button was known already (its setup may have been torn
  // down since), it is applied here; what is current already is left as it is.
  if (!applied) {
    try {
      const auto report = plumbing::live_host().apply_setup(plan.config);
      out.setup_lines.insert(out.setup_lines.end(), report.lines.begin(), report.lines.end());
    } catch (const Error& e) {
      throw Error(e.code(),
                  std::string("provision: ") + (out.added ? "saved button " + out.name + " in " + out.file + ", but " : "") +
                      "could not apply the setup: " + e.what() + "; nothing was sent to the button",
                  e.hint());
    }
  }
  // What the button will meet, read back from the kernel and the files.
  const auto status = plumbing::status(plan.config);
  if (!status.ok()) {
    const auto wrong = [&]() -> std::string {
      if (!status.table_present) return "the table inet dashctl is missing";
      if (!status.table_differences.empty()) return "the table differs: " + status.table_differences.front();
      for (const auto& f : status.files)
        if (f.state != "current") return f.path + " is " + f.state;
      if (status.dnsmasq_running == false) return "dnsmasq is not running";
      if (status.reload_pending) return "dnsmasq has not re-read its files";
      return "the firewall or dnsmasq's files could not be read";
    }();
    throw Error(Exit::unavailable, "provision: the setup is not in force (" + wrong + "); nothing was sent to the button",
                "'dashctl status' says more; fix it, then run provision again");
  }
  return out;
}

// ---- output ----------------------------------------------------------------------------------

nlohmann::json info_json(const provision::Endpoint& ep, const provision::DeviceInfo& d) {
  nlohmann::json nets = nlohmann::json::array();
  for (const auto& n : d.networks) {
    std::string hex;
    for (const unsigned char ch : n.ssid) {
      char b[3];
      std::snprintf(b, sizeof b, "%02x", static_cast<unsigned>(ch));
      hex += b;
    }
    nets.push_back({{"ssid", provision::printable(n.ssid)},
                    {"ssid_hex", hex},
                    {"bssid", n.bssid.empty() ? nlohmann::json() : nlohmann::json(n.bssid)},
                    {"security", n.security},
                    {"rssi", n.rssi ? nlohmann::json(*n.rssi) : nlohmann::json()}});
  }
  return {{"address", ep.address},
          {"format", provision::format_name(d.format)},
          {"serial", d.serial},
          {"mac", d.mac ? nlohmann::json(d.mac->str()) : nlohmann::json()},
          {"firmware", d.firmware.empty() ? nlohmann::json() : nlohmann::json(d.firmware)},
          {"battery", d.battery ? nlohmann::json(*d.battery) : nlohmann::json()},
          {"networks_listed", d.networks_listed},
          {"networks", nets}};
}

void print_info(const Globals& g, const provision::Endpoint& ep, const provision::DeviceInfo& d,
                const config::Button* known) {
  std::printf("button at %s (%s page)\n", ep.address.c_str(), provision::format_name(d.format));
  std::printf("  serial:   %s\n", d.serial.empty() ? "-" : d.serial.c_str());
  std::string mac = d.mac ? d.mac->str() : "-";
  if (d.mac)
    if (const auto vendor = learn::Vendors::load().lookup(*d.mac)) mac += " (" + *vendor + ")";
  std::printf("  mac:      %s\n", mac.c_str());
  std::printf("  firmware: %s\n", d.firmware.empty() ? "-" : d.firmware.c_str());
  std::printf("  battery:  %s\n", d.battery ? (std::to_string(*d.battery) + "%").c_str() : "- (not on its pages)");
  if (known) std::printf("  known as: %s\n", known->name.c_str());
  if (!d.networks_listed) {
    std::printf("  networks: not listed (its %s page does not list them)\n", provision::format_name(d.format));
    return;
  }
  if (d.networks.empty()) {
    std::printf("  networks: none in reach\n");
    return;
  }
  std::printf("  networks it sees (2.4 GHz only, no hidden ones):\n");
  std::vector<std::vector<std::string>> rows{{"    SSID", "SECURITY", "SIGNAL", "BSSID"}};
  for (const auto& n : d.networks)
    rows.push_back({"    " + provision::printable(n.ssid), n.security.empty() ? "-" : n.security,
                    n.rssi ? std::to_string(*n.rssi) + " dBm" : "-", n.bssid.empty() ? "-" : n.bssid});
  print_table(g, rows);
}

// ---- the verb --------------------------------------------------------------------------------

provision::Endpoint endpoint_of(const ProvisionOptions& o) {
  provision::Endpoint ep;
  if (!util::Ipv4::parse(o.address))
    throw Error(Exit::usage, "provision: --address: '" + o.address + "' is not an IPv4 address");
  ep.address = o.address;
  if (!o.interface.empty()) {
    if (const auto why = util::interface_name_problem(o.interface))
      throw Error(Exit::usage, "provision: --interface: " + *why);
    ep.interface = o.interface;
  }
  ep.timeout = flag_duration("provision", "--timeout", o.timeout, 1s, 5min);
  return ep;
}

int run_info(const Globals& g, const provision::Endpoint& ep) {
  const auto info = read_info(ep);
  const auto c = optional_config(g);
  const config::Button* known = c && info.mac ? c->find_button(*info.mac) : nullptr;
  std::optional<std::string> battery_note;
  if (known && info.battery) battery_note = seed_battery(*c, known->name, *info.battery);
  if (g.json) {
    auto j = info_json(ep, info);
    j["button"] = known ? nlohmann::json(known->name) : nlohmann::json();
    j["battery_recorded"] = known && info.battery && !battery_note;
    std::puts(j.dump(2).c_str());
    return 0;
  }
  print_info(g, ep, info, known);
  if (known && info.battery && !battery_note)
    std::printf("the daemon's battery estimate for %s starts again from %d%%\n", known->name.c_str(), *info.battery);
  else if (battery_note)
    std::printf("note: %s\n", battery_note->c_str());
  return 0;
}

int run_provision(const Globals& g, const ProvisionOptions& o) {
  const auto ep = endpoint_of(o);
  if (o.info) {
    if (o.ssid_given || !o.passphrase_file.empty() || !o.name.empty() || press_options_given(o.press) ||
        o.force || o.no_isolation_check)
      throw Error(Exit::usage, "provision: --info only reads the device info: leave out the other options");
    return run_info(g, ep);
  }
  if (!o.ssid_given)
    throw Error(Exit::usage, "provision: --ssid names the network to put the button on",
                "'dashctl provision --info' shows the networks it sees");
  if (const auto why = provision::ssid_problem(o.ssid)) throw Error(Exit::usage, "provision: --ssid: " + *why);
  if (!o.name.empty() && !util::is_button_name(o.name))
    throw Error(Exit::usage, "provision: '" + o.name + "' is not a valid button name", util::button_name_rule());
  {
    config::Button probe;  // the press options' own errors, before the button is asked anything
    apply_press_options("provision", o.press, probe);
  }

  const auto info = read_info(ep);
  if (!g.json && !g.quiet) print_info(g, ep, info, nullptr);

  // The network: one the button said it sees, unless --force.
  const auto* network = provision::find_network(info, o.ssid);
  const std::string ssid = provision::printable(o.ssid);
  if (!network && !o.force) {
    if (!info.networks_listed)
      throw Error(Exit::data,
                  "provision: the button's " + std::string(provision::format_name(info.format)) +
                      " page lists no networks, so whether it sees '" + ssid + "' cannot be checked",
                  "--force sends it unchecked; the button sees only 2.4 GHz networks, and no hidden ones");
    if (info.networks.empty())
      throw Error(Exit::temp_fail, "provision: the button lists no networks in reach",
                  "it scans when setup mode starts: try again in a few seconds, or --force to send '" + ssid +
                      "' anyway; it sees only 2.4 GHz networks, and no hidden ones");
    std::string seen;
    for (const auto& n : info.networks) seen += (seen.empty() ? "'" : ", '") + provision::printable(n.ssid) + "'";
    throw Error(Exit::data, "provision: the button does not see '" + ssid + "'; it sees " + seen,
                "it cannot see 5 GHz networks or hidden SSIDs: give it a 2.4 GHz network it lists, or --force if "
                "you are sure it is in reach");
  }
  if (!network) spdlog::warn("provision: sending '{}', which the button did not list (--force)", ssid);

  // Whether it can be isolated, before the passphrase is asked for.
  std::optional<IsolationPlan> plan;
  if (o.no_isolation_check) {
    spdlog::warn("provision: not checking isolation (--no-isolation-check): make sure {} cannot reach the internet",
                 info.mac ? info.mac->str() : "the button");
  } else {
    if (!info.mac)
      throw Error(Exit::protocol, "provision: the button did not say its MAC address, which isolating it needs",
                  "--no-isolation-check, where it is isolated another way");
    plan = plan_isolation(g, o, *info.mac);
  }

  std::string passphrase;
  if (!(network && network->open())) passphrase = read_passphrase(o, o.ssid);
  if (const auto why = provision::passphrase_problem(passphrase, network))
    throw Error(Exit::data, "provision: " + *why);

  // Isolated before it can join: the button, its lease and the table's rules first.
  std::optional<Isolation> iso;
  if (plan) {
    iso = isolate(std::move(*plan));
    if (!g.json && !g.quiet) {
      std::printf("%s button %s (%s, %s) in %s\n", iso->added ? "added" : "already", iso->name.c_str(),
                  info.mac->str().c_str(), iso->ip ? iso->ip->str().c_str() : "no static address",
                  iso->file.c_str());
      if (g.verbose)
        for (const auto& line : iso->setup_lines) std::printf("  %s\n", line.c_str());
      std::printf("setup is in force: dnsmasq and the firewall hold it from its first packet\n");
    }
  }

  provision::Delivery sent;
  try {
    sent = provision::deliver(ep, provision::provisioning_target(o.ssid, passphrase), kDeliveryWait);
  } catch (const Error& e) {
    throw Error(e.code(), "provision: could not send the network to the button at " + ep.address + ": " + e.what(),
                "it leaves setup mode after a few minutes: hold it 6 s again, join 'Amazon ConfigureMe', and run "
                "provision again (the button stays in the config)");
  }
  if (sent.answered && (sent.status < 200 || sent.status > 299))
    throw Error(Exit::protocol, "provision: the button answered HTTP " + std::to_string(sent.status) +
                                    " to the network: it did not take it");

  std::optional<std::string> battery_note;
  if (iso && info.battery) {
    const auto c = config::load(g.config_path());
    battery_note = seed_battery(c, iso->name, *info.battery);
  }
  if (g.json) {
    nlohmann::json j{{"device", info_json(ep, info)},
                     {"ssid", ssid},
                     {"isolation", iso ? "checked" : "skipped"},
                     {"button", nullptr},
                     {"delivery",
                      {{"answered", sent.answered},
                       {"status", sent.answered ? nlohmann::json(sent.status) : nlohmann::json()},
                       {"how", sent.answered ? nlohmann::json() : nlohmann::json(sent.how)}}},
                     {"battery_recorded", iso && info.battery && !battery_note}};
    if (iso)
      j["button"] = {{"name", iso->name},
                     {"ip", iso->ip ? nlohmann::json(iso->ip->str()) : nlohmann::json()},
                     {"file", iso->file},
                     {"added", iso->added},
                     {"daemon_reloaded", iso->daemon_reloaded}};
    std::puts(j.dump(2).c_str());
    return 0;
  }
  if (sent.answered)
    std::printf("sent '%s' to the button; it answered (HTTP %u)\n", ssid.c_str(), sent.status);
  else
    std::printf("sent '%s' to the button; it %s, as a button does when it takes its network and leaves setup mode\n",
                ssid.c_str(), sent.how.c_str());
  if (battery_note) std::printf("note: %s\n", battery_note->c_str());
  if (iso) {
    std::printf("next: press the button. It should join '%s'%s and fire its actions ('dashctl status' shows it "
                "seen).\n",
                ssid.c_str(), iso->ip ? (", get " + iso->ip->str() + " from dnsmasq,").c_str() : "");
  } else {
    std::printf("next: press the button. It should join '%s'.\n", ssid.c_str());
  }
  std::printf("If it never shows up, the network or passphrase was wrong: hold it 6 s for setup mode and run provision "
              "again.\n");
  return 0;
}

}  // namespace

void setup_provision(CLI::App& app, Globals& g, Action& action) {
  auto o = std::make_shared<ProvisionOptions>();
  auto* sub = app.add_subcommand(
      "provision", "Put a button in setup mode on the Wi-Fi, without Amazon, isolated first (root)");
  sub->add_flag("--info", o->info, "Only read and show the button's device info (no root needed)");
  auto* ssid =
      sub->add_option("--ssid", o->ssid, "The network to put the button on (2.4 GHz, one it lists)")->type_name("SSID");
  sub->add_option("--passphrase-file", o->passphrase_file,
                  "Read the passphrase from FILE (- for standard input); default: a prompt, or standard input")
      ->type_name("FILE");
  sub->add_option("--name", o->name, "The new button's name (default: the first free button-N)")->type_name("NAME");
  add_press_options(sub, o->press);
  sub->add_flag("--force", o->force, "Send an SSID the button did not list");
  sub->add_flag("--no-isolation-check", o->no_isolation_check,
                "Do not add the button and apply setup first (it is isolated another way)");
  sub->add_option("--address", o->address, "The button's address in setup mode (default 192.168.0.1)")
      ->type_name("ADDR");
  sub->add_option("--interface", o->interface, "Reach it through this interface only (the Wi-Fi on its network)")
      ->type_name("IFACE");
  sub->add_option("--timeout", o->timeout, "How long each step may take (default 10s)")->type_name("DURATION");
  sub->callback([&, o, ssid] {
    o->ssid_given = ssid->count() > 0;
    action = [&, o] { return run_provision(g, *o); };
  });
}

}  // namespace dashctl::cmd
