// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/daemon.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actions/runner.h"
#include "config/load.h"
#include "daemon/control_server.h"
#include "daemon/history_keeper.h"
#include "daemon/lease_events.h"
#include "daemon/listener.h"
#include "daemon/mqtt_link.h"
#include "daemon/nflog_source.h"
#include "daemon/ntp_source.h"
#include "daemon/tls_endpoint.h"
#include "daemon/pipeline.h"
#include "daemon/protocol.h"
#include "daemon/reload.h"
#include "mqtt/client.h"
#include "mqtt/topics.h"
#include "netlink/neighbour.h"
#include "press/identify.h"
#include "press/press.h"
#include "tls/identity.h"
#include "util/child.h"
#include "util/error.h"
#include "util/interface.h"
#include "util/time.h"

namespace dashctl::daemon {
namespace {

namespace asio = boost::asio;
using util::Error;
using util::Exit;
using namespace std::chrono_literals;

/// sd_notify(3), without libsystemd: one datagram to $NOTIFY_SOCKET.
void notify_systemd(const std::string& state) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (!env || !*env) return;
  std::string path = env;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return;
  if (path[0] == '@') path[0] = '\0';  // an abstract socket
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size()));
  ::close(fd);
}

/// The listen address: the config's, else the IoT interface's first IPv4.
util::Ipv4 listen_address(const config::Config& c) {
  if (c.network.listen_address) return *c.network.listen_address;
  if (!util::interface_exists(c.network.iot_interface))
    throw Error(Exit::unavailable, "interface " + c.network.iot_interface + " does not exist",
                "check network.iot_interface in " + c.path);
  const auto addrs = util::interface_ipv4(c.network.iot_interface);
  if (addrs.empty())
    throw Error(Exit::unavailable, "interface " + c.network.iot_interface + " has no IPv4 address to listen on",
                "set network.listen_address, or give the interface an address");
  return addrs.front().address;
}

/// The networks a button can be a neighbour in: the config's subnet, else those of the IoT
/// interface's addresses as they are now (read at start and on each reload).
std::vector<util::Ipv4Prefix> iot_networks(const config::Config& c) {
  if (c.network.subnet) return {*c.network.subnet};
  std::vector<util::Ipv4Prefix> out;
  for (const auto& a : util::interface_ipv4(c.network.iot_interface)) out.push_back(a.subnet);
  return out;
}

Listener::Limits listener_limits(const config::Config& c) {
  return {c.daemon.max_connections, c.daemon.connection_timeout};
}

TlsEndpoint::Limits tls_limits(const config::Config& c) {
  TlsEndpoint::Limits l;
  l.timeout = c.daemon.connection_timeout;
  l.max_handshakes = c.daemon.max_handshakes;
  l.per_window = c.daemon.handshakes_per_address;
  return l;
}

Status::Sighting sighting_status(const press::Sighting& s) {
  return {press::source_name(s.source), s.ip.str(), s.mac ? std::optional(s.mac->str()) : std::nullopt,
          util::iso8601(s.wall)};
}

/// A button's history as status gives it: its record, or a new button's empty one.
ButtonHistory button_history(const config::Button& b, const history::Record* found) {
  const history::Record r = found ? *found : history::Record{};
  ButtonHistory h;
  h.presses = r.presses;
  if (r.last_press) h.last_press = util::iso8601(r.last_press->time);
  if (r.last_seen) h.last_seen = util::iso8601(*r.last_seen);
  h.awake_s = static_cast<double>(r.awake_ms / 100) / 10.0;
  h.battery = std::round(history::battery_level(r.battery, b.battery_capacity) * 10) / 10;
  if (r.battery.since) h.battery_since = util::iso8601(*r.battery.since);
  h.battery_capacity_s = b.battery_capacity.count();
  h.battery_warning = b.battery_warning;
  h.battery_low = history::battery_low(r.battery, b);
  return h;
}

/// A histogram's count and quantiles, in microseconds to a tenth.
LatencyFigure latency(const util::Histogram& h) {
  auto us = [](std::chrono::nanoseconds d) { return static_cast<double>(d.count() / 100) / 10.0; };
  return {h.count(), us(h.quantile(0.5)), us(h.quantile(0.99)), us(h.max())};
}

/// The daemon: the event loop, signals, reload and shutdown, and the wiring of the press
/// sources, the press pipeline, the actions, MQTT and the control socket.
class Daemon {
 public:
  Daemon(std::string path, config::Config config)
      : path_(std::move(path)),
        config_(std::move(config)),
        identifier_([this](util::Ipv4 ip, const std::string& iface) { return neighbours_.mac(ip, iface); },
                    [this](const std::string& file, util::Ipv4 ip) { return leases_.mac(file, ip); }),
        runner_(io_, mqtt_, [this](const std::string& button, std::string_view kind, const actions::Outcome& o) {
          action_ended(button, kind, o);
        }),
        history_(io_, config_.daemon.state_dir, [this](const std::set<std::string>& changed) { publish_states(changed); }),
        pipeline_(config_, identifier_, tracker_, history_.book(), runner_, mqtt_),
        nflog_(io_, sink()),
        signals_(io_, SIGHUP, SIGTERM, SIGINT),
        started_(std::chrono::system_clock::now()),
        started_steady_(std::chrono::steady_clock::now()) {}

  int run() {
    follow_buttons();
    identifier_.set_networks(iot_networks(config_));
    listener_.emplace(io_, listen_address(config_), config_.network.listen_port, listener_limits(config_), sink());
    control_.emplace(io_, config_.daemon.control_socket,
                     [this](Request r, std::string_view received) { return answer(r, received); });
    events_.emplace(io_, config_.daemon.event_socket, sink(),
                    [this](util::Ipv4 ip) { return identifier_.inside(ip); });
    nflog_.start(config_.network.nflog_group);
    start_ntp();
    start_tls();
    start_mqtt();
    tick();
    wait_for_signal();
    const std::string where = listener_->address().str() + ":" + std::to_string(listener_->port());
    spdlog::info("listening on {} for {} button{}; control socket {}", where, config_.buttons.size(),
                 config_.buttons.size() == 1 ? "" : "s", config_.daemon.control_socket);
    notify_systemd("READY=1\nSTATUS=listening on " + where);
    io_.run();
    history_.flush();
    if (mqtt_.client) mqtt_.client->stop(1s);
    control_.reset();
    events_.reset();
    spdlog::info("stopped");
    return 0;
  }

 private:
  /// Where every source hands its sightings (the listener reads whether it was a button's).
  std::function<bool(press::Sighting)> sink() {
    return [this](press::Sighting s) {
      const bool known = pipeline_.on_sighting(std::move(s));
      if (known) history_.changed();
      return known;
    };
  }

  /// Every kUnknownWindow: the summary of unknown-device reports held back in a storm.
  void tick() {
    ticker_.expires_after(PressPipeline::kUnknownWindow);
    ticker_.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping_) return;
      pipeline_.tick(press::Clock::now());
      tick();
    });
  }

  // ---- the buttons' history ------------------------------------------------------------------

  /// At start and after a reload: a renamed button keeps its history, a removed one's goes.
  void follow_buttons() {
    const auto followed = history_.book().follow(config_);
    for (const auto& [from, to] : followed.renamed) spdlog::info("history: {} is now {}", from, to);
    for (const auto& name : followed.dropped) spdlog::info("history: {} is gone from the config; its history too", name);
    history_.changed();
  }

  /// The state messages of the buttons whose history changed (after each write of it). Not
  /// while the broker is away: a retained state is only worth its latest value, which goes
  /// out with every button's on connecting again, and the offline queue is kept for presses.
  void publish_states(const std::set<std::string>& changed) {
    if (!config_.mqtt || !mqtt_.client || !mqtt_.client->stats().connected) return;
    for (const auto& name : changed) {
      const auto* b = config_.find_button(name);
      const auto* r = history_.book().find(name);
      if (b && r) mqtt_.publish(mqtt::state_message(*config_.mqtt, *b, *r));
    }
  }

  std::string replace_battery(std::string_view received) {
    const auto request = parse_battery(received);
    const auto* b = request ? config_.find_button(request->button) : nullptr;
    if (!b) return nlohmann::json{{"error", "no button '" + (request ? request->button : "") + "'"}}.dump();
    history_.book().replace_battery(*b, std::chrono::system_clock::now(), request->level);
    spdlog::info("{}: a new battery, at {}%", b->name, request->level);
    history_.changed();
    return std::string(kAnswerOk);
  }

  void action_ended(const std::string& button, std::string_view kind, const actions::Outcome& o) {
    if (kind == "mqtt") return;  // a publish: the client counts it
    if (o.ok) {
      ++actions_ok_;
      spdlog::info("{}: {} {} ({} ms)", button, kind, o.summary, o.took.count());
    } else {
      ++actions_failed_;
      spdlog::warn("{}: {} failed: {} ({} ms)", button, kind, o.summary, o.took.count());
    }
    if (stopping_ && runner_.running() == 0) io_.stop();
  }

  // ---- button life: NTP answers and the TLS endpoint ------------------------------------------

  void start_ntp() {
    if (!config_.network.ntp) return;
    ntp_.emplace(io_, listener_->address(), config_.network.ntp_port, sink());
    spdlog::info("ntp source on: answering NTP on {}:{}", listener_->address().str(), config_.network.ntp_port);
  }

  /// The key and certificate are made on the first start with TLS on, in daemon.state_dir.
  /// Without them the daemon goes on as without TLS, and says why: presses are not lost,
  /// only the buttons' battery suffers.
  void start_tls() {
    if (!config_.network.tls) return;
    try {
      const std::string dir = config_.daemon.state_dir + "/tls";
      // Made in a child when missing: generating an RSA key maps as much of libcrypto as a
      // handshake does, which a daemon that no button has reached yet need not carry.
      const auto made = util::run_in_child([&] { return tls::ensure_identity(dir, config_.intercept.hostnames).created; });
      if (made && made->code > 1) throw Error(Exit::cant_create, made->what.empty() ? "making " + dir + " failed" : made->what);
      const auto id = tls::ensure_identity(dir, config_.intercept.hostnames);  // both exist now, unless no child
      if (id.created || (made && made->code == 1))
        spdlog::info("tls: made a key and a self-signed certificate in {}/tls", config_.daemon.state_dir);
      tls_.emplace(io_, id.key, id.cert, tls_limits(config_));
      listener_->set_tls(&*tls_);
      spdlog::info("tls endpoint on: handshakes with known buttons");
    } catch (const Error& e) {
      spdlog::error("tls endpoint off: {} (set daemon.state_dir to a directory this user can write, or "
                    "network.tls = false)",
                    e.what());
    }
  }

  // ---- MQTT ------------------------------------------------------------------------------

  void start_mqtt() {
    if (!config_.mqtt) return;
    mqtt_.client = std::make_unique<mqtt::Client>(io_, mqtt_options(config_));
    if (config_.mqtt->homeassistant) {
      // Home Assistant forgets discovery when it restarts and says so on its status topic.
      mqtt_.client->subscribe(config_.mqtt->discovery_prefix + "/status",
                              [this](const std::string&, const std::string& payload) {
                                if (payload == "online") publish_discovery();
                              });
    }
    mqtt_.client->on_connect([this] { publish_discovery(); });
    mqtt_.client->start();
  }

  /// Discovery, and every button's state, which its sensors read.
  void publish_discovery() {
    for (const auto& m : mqtt::discovery_messages(config_)) mqtt_.publish(m);
    for (const auto& b : config_.buttons) {
      const auto* r = history_.book().find(b.name);
      mqtt_.publish(mqtt::state_message(*config_.mqtt, b, r ? *r : history::Record{}));
    }
  }

  // ---- signals, reload, shutdown -----------------------------------------------------------

  void wait_for_signal() {
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_for_signal();
      } else {
        shutdown(sig);
      }
    });
  }

  /// SIGHUP: the new config replaces the old only when it is valid and its listener can be
  /// bound; otherwise the daemon keeps serving with the old one and says why.
  void reload() {
    notify_systemd("RELOADING=1");
    try {
      auto plan = plan_reload(config_, config::check(path_));
      if (!plan.next) {
        spdlog::error("reload: {} has {} problem{}; keeping the config in use", path_, plan.errors.size(),
                      plan.errors.size() == 1 ? "" : "s");
        for (const auto& e : plan.errors) spdlog::error("reload: {}", e);
        notify_systemd("READY=1");
        return;
      }
      for (const auto& w : plan.warnings) spdlog::warn("reload: {}", w);
      auto next = std::move(*plan.next);
      const auto ip = listen_address(next);
      if (ip != listener_->address() || next.network.listen_port != listener_->port()) {
        listener_->rebind(ip, next.network.listen_port);
        spdlog::info("reload: now listening on {}:{}", ip.str(), next.network.listen_port);
      }
      // Through the client in use, before a new one replaces it: what the old config published
      // under a prefix or broker that changes is cleared where it was published.
      if (mqtt_.client) {
        for (const auto& m : mqtt::discovery_removals(config_, next)) mqtt_.publish(m);
      }
      std::set<std::string> names;
      for (const auto& b : next.buttons) names.insert(b.name);
      tracker_.keep_only(names);
      config_ = std::move(next);  // the pipeline holds a reference to config_
      follow_buttons();
      listener_->set_limits(listener_limits(config_));
      identifier_.set_networks(iot_networks(config_));
      nflog_.rebind(config_.network.nflog_group);
      reload_button_life();
      if (plan.broker_changed) {
        if (mqtt_.client) mqtt_.client->stop(1s);
        mqtt_.client.reset();
        start_mqtt();
      } else {
        publish_discovery();
      }
      spdlog::info("reload: {} button{} from {}", config_.buttons.size(), config_.buttons.size() == 1 ? "" : "s", path_);
    } catch (const Error& e) {
      spdlog::error("reload: {}; keeping the config in use", e.what());
    }
    notify_systemd("READY=1");
  }

  /// network.ntp, ntp_port, tls and daemon.state_dir take effect at a reload; a responder
  /// or endpoint that cannot start is said, and the rest of the reload stands.
  void reload_button_life() {
    try {
      if (!config_.network.ntp) {
        if (ntp_) spdlog::info("reload: ntp source off");
        ntp_.reset();
      } else if (ntp_) {
        ntp_->rebind(listener_->address(), config_.network.ntp_port);
      } else {
        start_ntp();
      }
    } catch (const Error& e) {
      spdlog::error("reload: {}", e.what());
    }
    try {
      listener_->set_tls(nullptr);
      if (!config_.network.tls) {
        if (tls_) spdlog::info("reload: tls endpoint off");
        // Handshakes under way hold on to the endpoint: it stays until the daemon stops.
        if (tls_) tls_->set_limits(tls_limits(config_));
        return;
      }
      if (tls_) {
        tls_->set_limits(tls_limits(config_));
        listener_->set_tls(&*tls_);
      } else {
        start_tls();
      }
    } catch (const Error& e) {
      spdlog::error("reload: {}", e.what());
    }
  }

  /// SIGTERM/SIGINT: no new connections; running actions get shutdown_grace to finish.
  void shutdown(int sig) {
    spdlog::info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    notify_systemd("STOPPING=1");
    stopping_ = true;
    listener_->stop();
    control_->stop();
    events_->stop();
    nflog_.stop();
    if (ntp_) ntp_->stop();
    boost::system::error_code ec;
    signals_.cancel(ec);
    ticker_.cancel();
    const size_t running = runner_.running();
    if (running == 0) {
      io_.stop();
      return;
    }
    spdlog::info("waiting up to {} ms for {} running action{}", config_.daemon.shutdown_grace.count(), running,
                 running == 1 ? "" : "s");
    grace_.emplace(io_, config_.daemon.shutdown_grace);
    grace_->async_wait([this](boost::system::error_code e) {
      if (e) return;
      if (const size_t left = runner_.running())
        spdlog::warn("{} action{} still running at exit", left, left == 1 ? "" : "s");
      io_.stop();
    });
  }

  // ---- the control socket's answers ---------------------------------------------------------

  std::string answer(Request request, std::string_view received) {
    switch (request) {
      case Request::ping:
        return std::string(kAnswerOk);
      case Request::status:
        return status_json(status()).dump();
      case Request::reload:
        // `dashctl learn` after it saved a button: as SIGHUP does, once this answer is out.
        asio::post(io_, [this] {
          if (!stopping_) reload();
        });
        return std::string(kAnswerOk);
      case Request::battery:
        return replace_battery(received);
      default:
        return std::string(kAnswerUnknown);
    }
  }

  Status status() const {
    Status s;
    s.pid = ::getpid();
    s.version = DASHCTL_VERSION;
    s.config = path_;
    s.started = util::iso8601(started_);
    s.uptime_s =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_steady_).count();
    s.listen = listener_->address().str() + ":" + std::to_string(listener_->port());
    auto& c = s.counters;
    c.connections = listener_->counters().connections;
    c.busy = listener_->counters().busy;
    c.open_connections = listener_->open_connections();
    c.sightings = pipeline_.counters().sightings;
    c.presses = pipeline_.counters().presses;
    c.unknown = pipeline_.counters().unknown;
    c.unknown_suppressed = pipeline_.counters().unknown_suppressed;
    c.actions_ok = actions_ok_;
    c.actions_failed = actions_failed_;
    c.actions_running = runner_.running();
    c.dhcp_events = events_->counters().events;
    c.bad_datagrams = events_->counters().bad_datagrams;
    c.events_outside = events_->counters().outside;
    c.nflog_packets = nflog_.counters().packets;
    c.nflog_malformed = nflog_.counters().malformed;
    if (ntp_) {
      c.ntp_answered = ntp_->counters().answered;
      c.ntp_ignored = ntp_->counters().ignored;
      s.ntp = ntp_->port();
    }
    if (tls_) {
      c.tls_handshakes = tls_->counters().handshakes;
      c.tls_alerts = tls_->counters().alerts;
      c.tls_failed = tls_->counters().failed;
      c.tls_capped = tls_->counters().capped;
    }
    s.tls = tls_ && config_.network.tls;
    s.event_socket = events_->path();
    if (const auto group = nflog_.group()) s.nflog = *group;
    s.nflog_lost = nflog_.lost();
    s.accept_to_dispatch = latency(listener_->accept_to_dispatch());
    s.press_to_action = latency(pipeline_.press_to_action());
    if (mqtt_.client) {
      const auto m = mqtt_.client->stats();
      s.mqtt = Status::Mqtt{m.connected, m.published, m.queued, m.dropped};
    }
    const auto& states = tracker_.buttons();
    for (const auto& b : config_.buttons) {
      Status::Button button;
      button.name = b.name;
      if (const auto it = states.find(b.name); it != states.end()) {
        button.presses = it->second.presses;
        button.sightings = it->second.sightings;
        if (it->second.last_press) button.last_press = sighting_status(*it->second.last_press);
        button.press_sources.emplace();
        for (const auto src : it->second.press_sources) button.press_sources->push_back(press::source_name(src));
        if (it->second.last_press && it->second.last_sighting) {
          // Every sighting since the press started joined it, so the latest is the press's last.
          const auto span = it->second.last_sighting->time - it->second.last_press->time;
          button.last_press_span_ms =
              span.count() <= 0 ? 0.0 : static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(span).count() / 100) / 10.0;
        }
      }
      button.history = button_history(b, history_.book().find(b.name));
      s.buttons.push_back(std::move(button));
    }
    s.history.path = history_.path();
    s.history.writes = history_.counters().writes;
    s.history.write_errors = history_.counters().write_errors;
    if (!history_.problem().empty()) s.history.problem = history_.problem();
    for (const auto& u : tracker_.unknown_devices())
      s.unknown.push_back({u.ip.str(), u.mac ? std::optional(u.mac->str()) : std::nullopt, u.sightings,
                           sighting_status(u.last)});
    return s;
  }

  asio::io_context io_;
  std::string path_;
  config::Config config_;
  press::Tracker tracker_;
  netlink::NeighbourTable neighbours_;
  press::LeaseFile leases_;
  press::Identifier identifier_;
  MqttLink mqtt_;
  actions::ActionRunner runner_;
  HistoryKeeper history_;
  PressPipeline pipeline_;
  std::optional<Listener> listener_;
  std::optional<ControlServer> control_;
  std::optional<LeaseEventSocket> events_;
  NflogSource nflog_;
  std::optional<NtpSource> ntp_;
  std::optional<TlsEndpoint> tls_;
  std::optional<asio::steady_timer> grace_;
  asio::steady_timer ticker_{io_};
  asio::signal_set signals_;
  uint64_t actions_ok_ = 0, actions_failed_ = 0;
  bool stopping_ = false;
  std::chrono::system_clock::time_point started_;
  std::chrono::steady_clock::time_point started_steady_;
};

}  // namespace

int run(const std::string& config_path) {
  auto config = config::load(config_path);
  Daemon d(config_path, std::move(config));
  return d.run();
}

}  // namespace dashctl::daemon
