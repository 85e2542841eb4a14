// SPDX-License-Identifier: GPL-2.0-or-later
// dashctl learn: "press the button now". Watches the IoT network's DHCP requests and DNS
// queries through NFLOG (learn::Table, which it always removes), recognises the button
// (learn::Classifier), and saves it with a static lease (plumbing::button_changed). This
// file keeps the waiting: the countdown, the signals and the output.

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli.h"
#include "config/store.h"
#include "learn/classify.h"
#include "learn/learn.h"
#include "learn/new_button.h"
#include "learn/table.h"
#include "nflog/socket.h"
#include "plumbing/button.h"
#include "plumbing/plumbing.h"
#include "util/duration.h"
#include "util/error.h"
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

/// Waits for the device to learn, and says which known buttons it saw meanwhile.
class Learner {
 public:
  Learner(const Globals& g, const config::Config& c, const LearnOptions& o, bool tty)
      : g_(g), classifier_(c, o.any), tty_(tty) {}

  /// Watches until a device qualifies, the deadline passes (nullopt) or a signal comes
  /// (`signal` set).
  std::optional<learn::Verdict> watch(nflog::Socket& sock, const Signals& sig, std::chrono::milliseconds timeout,
                                      int& signal) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::optional<learn::Verdict> found;
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
  /// The verdict when it is the device to learn; says so, once per button, for a known one.
  std::optional<learn::Verdict> consider(const nflog::Logged& l) {
    auto v = classifier_.classify(l);
    switch (v.kind) {
      case learn::Verdict::Kind::ignored:
        spdlog::debug("learn: {}", v.why);
        return std::nullopt;
      case learn::Verdict::Kind::known:
        if (known_seen_.insert(v.button->name).second) {
          end_countdown(tty_);
          if (!g_.json && !g_.quiet)
            std::printf("%s is already button '%s': not learned again%s\n", v.mac.str().c_str(),
                        v.button->name.c_str(), tty_ ? "; press another button" : "");
          std::fflush(stdout);
        }
        return std::nullopt;
      case learn::Verdict::Kind::device:
        if (v.contradicted)
          spdlog::debug("learn: {} sent from {}'s address, which has another MAC: a new device", v.mac.str(),
                        v.contradicted->name);
        return v;
    }
    return std::nullopt;
  }

  const Globals& g_;
  learn::Classifier classifier_;
  bool tty_;
  std::set<std::string> known_seen_;
};

/// A locally administered MAC that no button has, for checking flags before the press.
util::Mac unused_mac(const config::Config& c) {
  for (unsigned i = 0;; ++i) {  // ends: there are fewer buttons than 2^16
    util::Mac m{{0x02, 0, 0, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}};
    if (!c.find_button(m)) return m;
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

int run_learn(const Globals& g, const LearnOptions& o) {
  const auto timeout = flag_duration("learn", "--timeout", o.timeout, 1s, 24h);
  auto c = load_config(g);
  if (!o.name.empty()) {
    if (!util::is_button_name(o.name))
      throw Error(Exit::usage, "learn: '" + o.name + "' is not a valid button name",
                  util::button_name_rule());
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
    sock = std::make_unique<nflog::Socket>(learn::Table::group(c), 1500);
  } catch (const Error& e) {
    if (e.code() == Exit::no_perm)
      throw Error(Exit::no_perm, "learn: watching the IoT network needs root (CAP_NET_ADMIN)", "run 'sudo dashctl learn'");
    if (e.code() == Exit::unavailable) plumbing::lock_learn(c);
    throw Error(e.code(), "learn: " + std::string(e.what()),
                "network.nflog_group + 1 is learn's group; choose a group no other program uses");
  }
  const auto lock = plumbing::lock_learn(c);
  if (learn::Table::remove_leftover())
    spdlog::warn("learn: removed table inet {}, left by an interrupted 'dashctl learn'", learn::Table::name());

  const bool tty = !g.json && ::isatty(STDOUT_FILENO);
  if (!tty && !g.json && !g.quiet) {
    std::printf("learn: press the button now (waiting %s)\n", util::format_duration(timeout).c_str());
    std::fflush(stdout);
  }
  Learner learner(g, c, o, tty);
  int signal = 0;
  std::optional<learn::Verdict> found;
  {
    Signals sig;
    learn::Table table(c);
    found = learner.watch(*sock, sig, timeout, signal);
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
                "learn: no new button seen in " + util::format_duration(timeout) +
                    (known.empty() ? "" : " (only known buttons: " + known + ")"),
                hint);
  }

  const auto vendor = learn::Vendors::load().lookup(found->mac);
  auto b = learn::new_button(c, found->mac, o.name);
  apply_press_options("learn", o.press, b);
  const auto saved = plumbing::button_changed(g.config_path(), plumbing::AddButton{b}, "learn");
  const bool in_force = saved.setup == plumbing::ButtonChange::Setup::applied;
  if (g.json) {
    nlohmann::json j{{"name", b.name},
                     {"mac", b.mac->str()},
                     {"ip", b.ip ? nlohmann::json(b.ip->str()) : nlohmann::json()},
                     {"vendor", vendor ? nlohmann::json(*vendor) : nlohmann::json()},
                     {"asked", found->asked},
                     {"file", saved.file},
                     {"lease_in_force", in_force},
                     {"daemon_reloaded", saved.daemon_reloaded},
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
    for (const auto& line : saved.lines) std::printf("  %s\n", line.c_str());
  if (!b.ip)
    std::printf("note: no address left in network.lease_range (or none set): %s is known by its MAC only\n",
                b.name.c_str());
  if (!in_force)
    std::printf("note: the network is not set up: run 'sudo dashctl setup' to give it its address\n");
  else if (b.ip)
    std::printf("dnsmasq reloaded: %s gets %s from its next press\n", b.name.c_str(), b.ip->str().c_str());
  if (saved.daemon_reloaded) std::printf("the running daemon reloaded its config\n");
  return 0;
}

}  // namespace

void setup_learn(CLI::App& app, Globals& g, Action& action) {
  auto opts = std::make_shared<LearnOptions>();
  auto* sub = app.add_subcommand("learn", "Press a button to add it, with a static lease (root)");
  sub->add_option("--name", opts->name, "The new button's name (default: the first free button-N)")
      ->type_name("NAME");
  sub->add_option("--timeout", opts->timeout, "How long to wait for the press (default 120s; a bare number is seconds)")
      ->type_name("DURATION");
  sub->add_flag("--any", opts->any, "Learn any new device that does DHCP or DNS, not only one asking for an intercepted name");
  add_press_options(sub, opts->press);
  sub->callback([&, opts] { action = [&, opts] { return run_learn(g, *opts); }; });
}

}  // namespace dashctl::cmd
