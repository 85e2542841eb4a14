// dashctl learn: "press the button now". Watches the IoT network's DHCP requests and DNS
// queries through NFLOG (a small table of its own that it always removes), recognises the
// button, and saves it with a static lease.

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli.h"
#include "config/load.h"
#include "config/store.h"
#include "daemon/control.h"
#include "learn/learn.h"
#include "nflog/packet.h"
#include "nflog/socket.h"
#include "nft/kernel.h"
#include "nft/ruleset.h"
#include "plumbing/plumbing.h"
#include "util/duration.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/interface.h"
#include "util/posix.h"
#include "util/text.h"

namespace dashctl::cmd {
namespace {

using util::Error;
using util::Exit;
using namespace std::chrono_literals;

struct LearnOptions {
  std::string name;
  std::string timeout = "120s";
  bool any = false;
  PressOptions press;
};

/// What learn saw that made it choose a device.
struct Found {
  util::Mac mac;
  std::string asked;  ///< "A dash-button-na-aws-opf.amazon.com" or "a DHCP request"
};

/// SIGINT, SIGTERM and SIGHUP, blocked and read from a signalfd while learn waits, so the
/// table comes out before the process ends; then the signal is raised again with its
/// default action, and the shell sees what it sent.
class Signals {
 public:
  Signals() {
    sigemptyset(&set_);
    for (const int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set_, s);
    if (::sigprocmask(SIG_BLOCK, &set_, &old_) != 0) util::throw_system("blocking signals", errno);
    fd_ = util::Fd(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd_) util::throw_system("creating a signalfd", errno);
  }
  ~Signals() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }
  Signals(const Signals&) = delete;
  Signals& operator=(const Signals&) = delete;

  int fd() const { return fd_.get(); }
  /// The signal that arrived, or 0.
  int read() const {
    signalfd_siginfo info{};
    if (::read(fd_.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return 0;
    return static_cast<int>(info.ssi_signo);
  }

 private:
  sigset_t set_{}, old_{};
  util::Fd fd_;
};

/// The learn table, there for this object's lifetime: removed on every way out.
class LearnTable {
 public:
  explicit LearnTable(const config::Config& c) { nft::apply(nft::build_learn(c)); }
  ~LearnTable() { remove(); }
  LearnTable(const LearnTable&) = delete;
  LearnTable& operator=(const LearnTable&) = delete;
  void remove() {
    if (removed_) return;
    removed_ = true;
    try {
      nft::remove_table("inet", nft::kLearnTable);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "dashctl: learn: removing table inet %s: %s (run 'dashctl setup' to remove it)\n",
                   nft::kLearnTable, e.what());
    }
  }

 private:
  bool removed_ = false;
};

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

/// The countdown on a TTY: one line, rewritten in place.
void countdown(bool tty, std::chrono::seconds left) {
  if (!tty) return;
  std::printf("\r\033[KPress the button now (%lld s left) ", static_cast<long long>(left.count()));
  std::fflush(stdout);
}

void end_countdown(bool tty) {
  if (!tty) return;
  std::printf("\r\033[K");
  std::fflush(stdout);
}

class Learner {
 public:
  Learner(const Globals& g, const config::Config& c, const LearnOptions& o, bool tty)
      : g_(g), c_(c), o_(o), tty_(tty) {
    for (const auto& b : c.buttons) {
      if (b.mac) known_[*b.mac] = b.name;
      else if (b.ip) by_address_[*b.ip] = b.name;  // known by address only: its DNS queries tell
    }
    for (const auto& h : c.intercept.hostnames) hostnames_.insert(lower(h));
  }

  /// Watches until a device qualifies, the deadline passes (nullopt) or a signal comes
  /// (`signal` set).
  std::optional<Found> watch(nflog::Socket& sock, const Signals& sig, std::chrono::milliseconds timeout, int& signal) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::optional<Found> found;
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return std::nullopt;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      countdown(tty_, std::chrono::duration_cast<std::chrono::seconds>(left + 999ms));
      // On a TTY wake every second for the countdown; otherwise only for packets.
      const auto wait = tty_ ? std::min<std::chrono::milliseconds>(left, 1000ms - (left % 1000ms) + 1ms) : left;
      pollfd fds[2] = {{sock.fd(), POLLIN, 0}, {sig.fd(), POLLIN, 0}};
      const int n = ::poll(fds, 2, static_cast<int>(wait.count()));
      if (n < 0 && errno != EINTR) util::throw_system("waiting for packets", errno);
      if (n <= 0) continue;
      if (fds[1].revents & POLLIN) {
        if ((signal = sig.read()) != 0) return std::nullopt;
      }
      if (fds[0].revents & POLLIN) {
        sock.drain([&](const nflog::Logged& l) {
          if (!found) found = consider(l);
        });
        if (found) return found;
      }
    }
  }

  std::vector<std::string> known_seen() const {
    return {known_seen_.begin(), known_seen_.end()};
  }

 private:
  std::optional<Found> consider(const nflog::Logged& l) {
    if (!l.mac || l.mac->is_multicast() || l.mac->is_zero()) return std::nullopt;
    const auto p = nflog::parse_ipv4_udp(l.payload);
    if (!p || (!p->question && !p->dhcp)) {
      spdlog::debug("learn: a logged packet that is no DHCP request or DNS query");
      return std::nullopt;
    }
    const std::string asked =
        p->question ? nflog::qtype_name(p->question->type) + " " + p->question->name : std::string("a DHCP request");
    const bool intercepted = p->question && hostnames_.contains(p->question->name);
    if (!intercepted && !o_.any) {
      spdlog::debug("learn: {} asked {}: not an intercepted name", l.mac->str(), asked);
      return std::nullopt;
    }
    const std::string* known = nullptr;
    if (const auto it = known_.find(*l.mac); it != known_.end()) known = &it->second;
    else if (const auto at = by_address_.find(p->src); at != by_address_.end()) known = &at->second;
    if (known) {
      if (known_seen_.insert(*known).second) {
        end_countdown(tty_);
        if (!g_.json && !g_.quiet)
          std::printf("%s is already button '%s': not learned again%s\n", l.mac->str().c_str(), known->c_str(),
                      tty_ ? "; press another button" : "");
        std::fflush(stdout);
      }
      return std::nullopt;
    }
    return Found{*l.mac, asked};
  }

  const Globals& g_;
  const config::Config& c_;
  const LearnOptions& o_;
  bool tty_;
  std::map<util::Mac, std::string> known_;
  std::map<util::Ipv4, std::string> by_address_;
  std::set<std::string> hostnames_;
  std::set<std::string> known_seen_;
};

/// A locally administered MAC that no button has, for checking flags before the press.
util::Mac unused_mac(const config::Config& c) {
  for (unsigned i = 0;; ++i) {  // ends: there are fewer buttons than 2^16
    util::Mac m{{0x02, 0, 0, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}};
    bool used = false;
    for (const auto& b : c.buttons) used = used || (b.mac && *b.mac == m);
    if (!used) return m;
  }
}

[[noreturn]] void die_by(int signal) {
  ::signal(signal, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signal);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(signal);
  std::_Exit(128 + signal);
}

/// Saves the button, then brings the plumbing in step when setup has run: the lease line,
/// a SIGHUP to dnsmasq, the table's rules for the new MAC, and the running daemon.
struct Saved {
  config::Button button;
  std::string file;
  std::vector<std::string> report;
  bool plumbing = false;  ///< setup had run, and the lease is in force
  bool daemon = false;    ///< a running daemon reloaded
};

Saved save(const Globals& g, const config::Config& c, const LearnOptions& o, const Found& f) {
  Saved s;
  auto& b = s.button;
  b.name = o.name.empty() ? learn::free_name(c) : o.name;
  b.mac = f.mac;
  std::string leases;
  try {
    leases = util::read_file(c.dnsmasq.leases_file).value_or("");
  } catch (const Error&) {
    // Unreadable: choose among what the config knows; dnsmasq refuses a taken address anyway.
  }
  // The listen address is not free for a button, also where the config leaves it to the interface.
  config::Config with_address = c;
  if (!with_address.network.listen_address) {
    try {
      with_address.network.listen_address = plumbing::resolve(c).listen_address;
    } catch (const Error&) {
    }
  }
  b.ip = learn::next_free_address(with_address, f.mac, leases);
  apply_press_options("learn", o.press, b);
  config::add_button(g.config_path(), b, "learn");
  s.file = config::button_file_for(g.config_path(), b.name);

  const auto next = load_config(g);
  if (nft::read_table("inet", "dashctl")) {
    try {
      const auto effective = plumbing::resolve(next);
      const auto report = plumbing::apply_setup(next, plumbing::plan_setup(next, effective));
      s.report = report.lines;
    } catch (const Error& e) {
      // The button is saved: say so, or the user learns it again and is told it is known.
      throw Error(e.code(), "learn: saved button " + b.name + " in " + s.file + ", but could not apply the setup: " +
                                e.what(),
                  e.hint().empty() ? "fix the cause and run 'dashctl setup' to give it its address" : e.hint());
    }
    s.plumbing = true;
  }
  try {
    s.daemon = daemon::ask(next.daemon.control_socket, "reload").has_value();
  } catch (const std::exception& e) {
    spdlog::debug("learn: telling the daemon: {}", e.what());
  }
  return s;
}

int run_learn(const Globals& g, const LearnOptions& o) {
  const auto timeout = util::parse_duration(o.timeout);
  if (!timeout || *timeout < 1s || *timeout > 24h)
    throw Error(Exit::usage, "learn: --timeout: '" + o.timeout + "' is not a duration from 1s to 24h (like 120s)");
  auto c = load_config(g);
  if (!o.name.empty()) {
    if (!util::is_button_name(o.name))
      throw Error(Exit::usage, "learn: '" + o.name + "' is not a valid button name",
                  "1 to 32 of a-z, 0-9, '_' and '-', starting with a letter or digit");
    if (c.find_button(o.name)) throw Error(Exit::data, "learn: there is already a button named '" + o.name + "'");
  }
  {
    // The flags are checked against the config before anyone presses anything: a button
    // with them and an unused MAC must be one add_button would take.
    config::Button probe;
    probe.name = o.name.empty() ? learn::free_name(c) : o.name;
    probe.mac = unused_mac(c);
    apply_press_options("learn", o.press, probe);
    config::check_new_button(g.config_path(), probe, "learn");
  }
  if (!util::interface_exists(c.network.iot_interface))
    throw Error(Exit::unavailable, "learn: interface " + c.network.iot_interface + " does not exist",
                "check network.iot_interface in " + c.path);

  // The socket first: it says clearly when learn lacks the privilege, and it is listening
  // before the rule that feeds it exists, so no packet is missed. The group taken already
  // is most likely another learn, which its lock tells.
  std::unique_ptr<nflog::Socket> sock;
  try {
    sock = std::make_unique<nflog::Socket>(nft::learn_group(c), 1500);
  } catch (const Error& e) {
    if (e.code() == Exit::no_perm)
      throw Error(Exit::no_perm, "learn: watching the IoT network needs root (CAP_NET_ADMIN)", "run 'sudo dashctl learn'");
    if (e.code() == Exit::unavailable) plumbing::lock_learn(c);
    throw Error(e.code(), "learn: " + std::string(e.what()),
                "network.nflog_group + 1 is learn's group; choose a group no other program uses");
  }
  const auto lock = plumbing::lock_learn(c);
  if (nft::remove_table("inet", nft::kLearnTable))
    spdlog::warn("learn: removed table inet {}, left by an interrupted 'dashctl learn'", nft::kLearnTable);

  const bool tty = !g.json && ::isatty(STDOUT_FILENO);
  if (!tty && !g.json && !g.quiet) {
    std::printf("learn: press the button now (waiting %s)\n", util::format_duration(*timeout).c_str());
    std::fflush(stdout);
  }
  Learner learner(g, c, o, tty);
  int signal = 0;
  std::optional<Found> found;
  {
    Signals sig;
    LearnTable table(c);
    found = learner.watch(*sock, sig, *timeout, signal);
    table.remove();
    end_countdown(tty);
    if (signal) die_by(signal);  // after the table is gone; Signals' destructor need not run
  }
  sock.reset();

  if (!found) {
    std::string hint = "is the button on " + c.network.iot_interface + "? did 'sudo dashctl setup' run? "
                       "a button asleep needs a press; one already learned is not learned twice";
    if (!o.any) hint += "; --any learns any new device";
    const auto seen = learner.known_seen();
    std::string known;
    for (const auto& n : seen) known += (known.empty() ? "" : ", ") + n;
    throw Error(Exit::temp_fail,
                "learn: no new button seen in " + util::format_duration(*timeout) +
                    (known.empty() ? "" : " (only known buttons: " + known + ")"),
                hint);
  }

  const auto vendor = learn::Vendors::load().lookup(found->mac);
  const auto saved = save(g, c, o, *found);
  const auto& b = saved.button;
  if (g.json) {
    nlohmann::json j{{"name", b.name},
                     {"mac", b.mac->str()},
                     {"ip", b.ip ? nlohmann::json(b.ip->str()) : nlohmann::json()},
                     {"vendor", vendor ? nlohmann::json(*vendor) : nlohmann::json()},
                     {"asked", found->asked},
                     {"file", saved.file},
                     {"lease_in_force", saved.plumbing},
                     {"daemon_reloaded", saved.daemon},
                     {"known_seen", learner.known_seen()}};
    std::puts(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  const std::string ip = b.ip ? b.ip->str() : "no static address";
  if (!tty) {
    std::printf("learned %s: %s (%s), %s, asked %s; saved in %s\n", b.name.c_str(), b.mac->str().c_str(),
                vendor.value_or("vendor unknown").c_str(), ip.c_str(), found->asked.c_str(), saved.file.c_str());
  } else {
    std::printf("Found %s (%s), asking %s\n", b.mac->str().c_str(), vendor.value_or("vendor unknown").c_str(),
                found->asked.c_str());
    std::printf("Learned %s: address %s, saved in %s\n", b.name.c_str(), ip.c_str(), saved.file.c_str());
  }
  if (g.verbose)
    for (const auto& line : saved.report) std::printf("  %s\n", line.c_str());
  if (!b.ip)
    std::printf("note: no address left in network.lease_range (or none set): %s is known by its MAC only\n",
                b.name.c_str());
  if (!saved.plumbing)
    std::printf("note: the network is not set up: run 'sudo dashctl setup' to give it its address\n");
  else if (b.ip)
    std::printf("dnsmasq reloaded: %s gets %s from its next press\n", b.name.c_str(), b.ip->str().c_str());
  if (saved.daemon) std::printf("the running daemon reloaded its config\n");
  return 0;
}

}  // namespace

void setup_learn(CLI::App& app, Globals& g, Action& action) {
  auto opts = std::make_shared<LearnOptions>();
  auto* sub = app.add_subcommand("learn", "Press a button to add it, with a static lease (root)");
  sub->add_option("--name", opts->name, "The new button's name (default: the first free button-N)")
      ->type_name("NAME");
  sub->add_option("--timeout", opts->timeout, "How long to wait for the press (default 120s)")
      ->type_name("DURATION");
  sub->add_flag("--any", opts->any, "Learn any new device that does DHCP or DNS, not only one asking for an intercepted name");
  add_press_options(sub, opts->press);
  sub->callback([&, opts] { action = [&, opts] { return run_learn(g, *opts); }; });
}

}  // namespace dashctl::cmd
