#include "daemon/daemon.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actions/actions.h"
#include "config/load.h"
#include "daemon/control.h"
#include "daemon/event.h"
#include "daemon/protocol.h"
#include "daemon/reload.h"
#include "mqtt/client.h"
#include "mqtt/topics.h"
#include "netlink/neighbour.h"
#include "nflog/packet.h"
#include "nflog/socket.h"
#include "press/identify.h"
#include "press/press.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/histogram.h"
#include "util/interface.h"
#include "util/posix.h"

namespace dashctl::daemon {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
using datagram = asio::local::datagram_protocol;
using util::Error;
using util::Exit;
using namespace std::chrono_literals;

/// An unknown device is logged and published once per this long.
constexpr auto kUnknownWindow = 10s;
/// What the listener reads of a connection before it closes it: the ClientHello.
constexpr size_t kFirstBytes = 1024;
/// Connections taken off the listener in one turn of the loop.
constexpr int kAcceptBatch = 64;

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

std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json sighting_json(const press::Sighting& s) {
  return {{"source", press::source_name(s.source)},
          {"ip", s.ip.str()},
          {"mac", s.mac ? nlohmann::json(s.mac->str()) : nlohmann::json()},
          {"time", iso_time(s.wall)}};
}

mqtt::Options mqtt_options(const config::Mqtt& m) {
  mqtt::Options o;
  o.host = m.host;
  o.port = m.port;
  o.tls = m.tls;
  o.client_id = m.client_id;
  o.username = m.username;
  o.password = m.password;
  o.availability_topic = mqtt::availability_topic(m);
  o.queue_limit = m.queue_limit;
  return o;
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

struct Counters {
  uint64_t connections = 0;
  uint64_t busy = 0;  ///< closed at once: max_connections were open
  uint64_t sightings = 0;
  uint64_t presses = 0;
  uint64_t unknown = 0;
  uint64_t actions_ok = 0;
  uint64_t actions_failed = 0;
  uint64_t dhcp_events = 0;      ///< wake-ups from dhcp-event
  uint64_t bad_datagrams = 0;    ///< datagrams on the event socket that were not events
  uint64_t nflog_packets = 0;    ///< logged packets read
  uint64_t nflog_malformed = 0;  ///< logged packets that were no IPv4 UDP
};

class Daemon {
 public:
  Daemon(std::string path, config::Config config)
      : path_(std::move(path)),
        config_(std::move(config)),
        identifier_([this](util::Ipv4 ip, const std::string& iface) { return neighbours_.mac(ip, iface); },
                    [this](const std::string& file, util::Ipv4 ip) { return leases_.mac(file, ip); }),
        signals_(io_, SIGHUP, SIGTERM, SIGINT),
        started_(std::chrono::system_clock::now()),
        started_steady_(std::chrono::steady_clock::now()) {}

  int run() {
    start_listener();
    start_control();
    start_events();
    start_nflog();
    start_mqtt();
    wait_for_signal();
    spdlog::info("listening on {}:{} for {} button{}; control socket {}", listen_ip_.str(), listen_port_,
                 config_.buttons.size(), config_.buttons.size() == 1 ? "" : "s", config_.daemon.control_socket);
    notify_systemd("READY=1\nSTATUS=listening on " + listen_ip_.str() + ":" + std::to_string(listen_port_));
    io_.run();
    if (mqtt_) mqtt_->stop(1s);
    ::unlink(config_.daemon.control_socket.c_str());
    ::unlink(event_path_.c_str());
    spdlog::info("stopped");
    return 0;
  }

 private:
  // ---- the listener ----------------------------------------------------------------------

  tcp::acceptor bind(util::Ipv4 ip, uint16_t port) {
    const tcp::endpoint ep(asio::ip::address_v4(ip.value), port);
    tcp::acceptor a(io_);
    boost::system::error_code ec;
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) a.non_blocking(true, ec);  // accept_ready takes connections until none is left
    if (ec) {
      const Exit code = ec == asio::error::access_denied ? Exit::no_perm : Exit::unavailable;
      throw Error(code, "listening on " + ip.str() + ":" + std::to_string(port) + ": " + ec.message(),
                  ec == asio::error::address_in_use ? "is another 'dashctl run' running?" : "");
    }
    return a;
  }

  void start_listener() {
    listen_ip_ = listen_address(config_);
    identifier_.set_networks(iot_networks(config_));
    listen_port_ = config_.network.listen_port;
    acceptor_.emplace(bind(listen_ip_, listen_port_));
    accept();
  }

  /// Waits for the listener to have connections queued, then takes them itself (see
  /// accept_ready), rather than through Asio's async_accept: most connections then cost the
  /// daemon three system calls and never enter the loop's epoll set.
  void accept() {
    acceptor_->async_wait(tcp::acceptor::wait_read, [this](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted || !acceptor_ || !acceptor_->is_open()) return;
      if (ec) spdlog::warn("listener: waiting for connections: {}", ec.message());
      if (ec || !accept_ready()) {
        // Out of descriptors (a flood): pause briefly rather than spin on the error.
        auto pause = std::make_shared<asio::steady_timer>(io_, 100ms);
        pause->async_wait([this, pause](boost::system::error_code) {
          if (acceptor_ && acceptor_->is_open()) accept();
        });
        return;
      }
      accept();
    });
  }

  /// Accepts what the kernel has queued, up to kAcceptBatch connections a turn so that the
  /// other sources are not starved in a flood. Returns false when accepting failed for want
  /// of descriptors or memory, which a pause may cure.
  bool accept_ready() {
    const int listener = acceptor_->native_handle();
    for (int i = 0; i < kAcceptBatch; ++i) {
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      const int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        on_connection(util::Fd(fd), peer);
        continue;
      }
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return true;
      // The client gave up while queued, a signal, a firewall's refusal: the next one.
      if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM) continue;
      spdlog::warn("listener: accepting: {}", util::errno_text(err));
      return false;
    }
    return true;
  }

  /// A connection is a sighting the moment it is accepted. Then the listener reads what
  /// the client sends first (its TLS ClientHello, at most 1 KiB) and closes. Usually that is
  /// there already and is read at once; otherwise the connection waits in the loop, so that
  /// an idle client holds a place until its deadline at most, and at max_connections new
  /// connections are closed at once.
  void on_connection(util::Fd fd, const sockaddr_in& peer) {
    ++counters_.connections;
    if (peer.sin_family == AF_INET) {
      press::Sighting s;
      s.source = press::Source::connect;
      s.ip = util::Ipv4{ntohl(peer.sin_addr.s_addr)};
      s.time = press::Clock::now();
      s.wall = std::chrono::system_clock::now();
      s.detail = "connection from " + s.ip.str() + ":" + std::to_string(ntohs(peer.sin_port));
      const auto accepted = s.time;
      sight(std::move(s));
      accept_to_dispatch_.add(press::Clock::now() - accepted);
    }
    if (open_connections_ >= config_.daemon.max_connections || stopping_) {
      ++counters_.busy;
      return;  // fd closes it
    }
    std::array<char, kFirstBytes> first;
    const ssize_t n = ::recv(fd.get(), first.data(), first.size(), 0);
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      if (n > 0) first_bytes(first.data(), static_cast<size_t>(n));
      return;  // read, or the client is gone: fd closes it
    }

    struct Conn {
      Conn(tcp::socket s, asio::io_context& io) : socket(std::move(s)), deadline(io) {}
      tcp::socket socket;
      asio::steady_timer deadline;
      std::array<char, kFirstBytes> buf{};
    };
    boost::system::error_code ec;
    tcp::socket socket(io_);
    socket.assign(tcp::v4(), fd.get(), ec);
    if (ec) {
      spdlog::warn("listener: watching a connection: {}", ec.message());
      return;
    }
    fd.release();  // the socket owns it now
    ++open_connections_;
    auto conn = std::make_shared<Conn>(std::move(socket), io_);
    conn->deadline.expires_after(config_.daemon.connection_timeout);
    conn->deadline.async_wait([conn](boost::system::error_code e) {
      if (!e) conn->socket.close(e);
    });
    conn->socket.async_read_some(asio::buffer(conn->buf), [this, conn](boost::system::error_code, size_t got) {
      first_bytes(conn->buf.data(), got);
      boost::system::error_code e;
      conn->deadline.cancel();
      conn->socket.close(e);
      --open_connections_;
    });
  }

  /// Logs (at debug level) what a client sent first.
  static void first_bytes(const char* buf, size_t n) {
    if (n < 3) return;
    const bool tls = buf[0] == 0x16 && buf[1] == 0x03;
    spdlog::debug("listener: {} bytes{}", n, tls ? ", a TLS handshake" : ", not TLS");
  }

  // ---- dnsmasq's lease events ----------------------------------------------------------------

  /// The datagram socket `dashctl dhcp-event` writes to. Owner and group only, like the
  /// control socket: whoever can write here can announce presses.
  void start_events() {
    event_path_ = config_.daemon.event_socket;
    struct stat st {};
    if (::lstat(event_path_.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        throw Error(Exit::cant_create, event_path_ + " exists and is not a socket", "set daemon.event_socket elsewhere");
      ::unlink(event_path_.c_str());  // the control socket showed no other daemon runs
    }
    const mode_t old = ::umask(0007);
    boost::system::error_code ec;
    events_.emplace(io_);
    events_->open(datagram(), ec);
    if (!ec) events_->bind(datagram::endpoint(event_path_), ec);
    ::umask(old);
    if (ec) throw Error(Exit::cant_create, "binding the event socket " + event_path_ + ": " + ec.message());
    receive_event();
  }

  void receive_event() {
    events_->async_receive(asio::buffer(event_buf_), [this](boost::system::error_code ec, size_t n) {
      if (ec == asio::error::operation_aborted || !events_ || !events_->is_open()) return;
      if (!ec) on_datagram(std::string_view(event_buf_.data(), n));
      receive_event();
    });
  }

  void on_datagram(std::string_view bytes) {
    const auto e = decode(bytes);
    if (!e) {
      ++counters_.bad_datagrams;
      spdlog::debug("event socket: a datagram that is no lease event ({} bytes)", bytes.size());
      return;
    }
    ++counters_.dhcp_events;
    press::Sighting s;
    s.source = press::Source::dhcp;
    s.mac = e->mac;
    s.ip = e->ip;
    s.time = press::Clock::now();
    s.wall = std::chrono::system_clock::now();
    s.detail = "dnsmasq: " + e->action + " " + e->ip.str() + (e->hostname.empty() ? "" : " " + e->hostname);
    sight(std::move(s));
  }

  // ---- NFLOG: the buttons' own DHCP requests and DNS queries ---------------------------------

  /// Reads the NFLOG group setup's rules log the buttons' packets to. Needs CAP_NET_ADMIN;
  /// without it the daemon says so once and goes on with the other sources.
  void start_nflog() {
    const uint16_t group = config_.network.nflog_group;
    try {
      nflog_ = std::make_unique<nflog::Socket>(group);
    } catch (const Error& e) {
      if (e.code() == Exit::no_perm)
        spdlog::info("nflog source off: no CAP_NET_ADMIN (presses are seen from dnsmasq's events and connections)");
      else
        spdlog::warn("nflog source off: {}", e.what());
      return;
    }
    nflog_desc_.emplace(io_, ::dup(nflog_->fd()));
    spdlog::info("nflog source on: NFLOG group {}", group);
    wait_nflog();
  }

  void stop_nflog() {
    boost::system::error_code ec;
    if (nflog_desc_) nflog_desc_->close(ec);
    nflog_desc_.reset();
    nflog_.reset();
  }

  void wait_nflog() {
    nflog_desc_->async_wait(asio::posix::descriptor_base::wait_read, [this](boost::system::error_code ec) {
      if (ec || !nflog_) return;
      try {
        nflog_->drain([this](const nflog::Logged& l) { on_logged(l); });
      } catch (const Error& e) {
        spdlog::error("nflog source off: {}", e.what());
        stop_nflog();
        return;
      }
      wait_nflog();
    });
  }

  void on_logged(const nflog::Logged& l) {
    ++counters_.nflog_packets;
    const auto packet = nflog::parse_ipv4_udp(l.payload);
    if (!packet || (!packet->dhcp && !packet->question)) {
      ++counters_.nflog_malformed;
      return;
    }
    press::Sighting s;
    s.source = press::Source::nflog;
    s.mac = l.mac;
    s.ip = packet->src;  // 0.0.0.0 for a DHCP request before the button has its address
    s.time = press::Clock::now();
    s.wall = std::chrono::system_clock::now();
    s.detail = packet->dhcp ? std::string("DHCP request")
                            : "DNS query " + nflog::qtype_name(packet->question->type) + " " + packet->question->name;
    sight(std::move(s));
  }

  // ---- presses ---------------------------------------------------------------------------

  void sight(press::Sighting s) {
    ++counters_.sightings;
    const auto id = identifier_.identify(config_, s.ip, s.mac);
    s.mac = id.mac;
    // A DHCP request comes from 0.0.0.0: the button's address is the one the config gives it.
    if (s.ip == util::Ipv4{} && id.button && id.button->ip) s.ip = *id.button->ip;
    const std::string who = s.ip.str() + (s.mac ? " (" + s.mac->str() + ")" : "");
    if (!id.button) {
      if (tracker_.sight_unknown(s, kUnknownWindow)) {
        ++counters_.unknown;
        spdlog::info("unknown device {}: {}", who, press::source_name(s.source));
        if (mqtt_ && config_.mqtt) {
          const auto m = mqtt::unknown_message(*config_.mqtt, s);
          mqtt_->publish(m.topic, m.payload, m.qos, m.retain);
        }
      }
      return;
    }
    const auto press = tracker_.sight(id.button->name, id.button->window, s);
    if (!press) {
      spdlog::debug("{}: {} from {} joins the press", id.button->name, press::source_name(s.source), who);
      return;
    }
    ++counters_.presses;
    fire(*id.button, *press);
    spdlog::info("{}: pressed ({} from {}: {}, #{})", id.button->name, press::source_name(s.source), who, s.detail,
                 press->number);
  }

  void fire(const config::Button& b, const press::Press& p) {
    actions::Event e;
    e.button = b.name;
    e.mac = p.first.mac ? p.first.mac : b.mac;  // matched by its static address: the config knows it
    e.ip = p.first.ip;
    e.source = press::source_name(p.first.source);
    e.time = p.first.wall;
    e.count = p.number;
    // The actions first, what the user waits for; then the press event and the log line.
    // (An action that cannot start reports it later, from the loop.)
    for (const auto& a : b.on_press) run_action(a, e);
    press_to_action_.add(press::Clock::now() - p.first.time);
    if (mqtt_ && config_.mqtt) {
      const auto m = mqtt::press_message(*config_.mqtt, p);
      mqtt_->publish(m.topic, m.payload, m.qos, m.retain);
    }
  }

  void run_action(const config::Action& a, const actions::Event& e) {
    if (const auto* m = std::get_if<config::MqttAction>(&a)) {
      if (!mqtt_ || !config_.mqtt) return;  // validate() refuses mqtt actions without [mqtt]
      mqtt_->publish(actions::render(m->topic, e), actions::render(m->payload, e), m->qos.value_or(config_.mqtt->qos),
                     m->retain);
      return;
    }
    ++inflight_;
    auto done = [this, button = e.button, kind = std::string(config::action_kind(a))](const actions::Outcome& o) {
      --inflight_;
      if (o.ok) {
        ++counters_.actions_ok;
        spdlog::info("{}: {} {} ({} ms)", button, kind, o.summary, o.took.count());
      } else {
        ++counters_.actions_failed;
        spdlog::warn("{}: {} failed: {} ({} ms)", button, kind, o.summary, o.took.count());
      }
      if (stopping_ && inflight_ == 0) io_.stop();
    };
    if (const auto* x = std::get_if<config::ExecAction>(&a))
      actions::run_exec(io_, *x, e, done);
    else
      actions::run_webhook(io_, std::get<config::WebhookAction>(a), e, done);
  }

  // ---- MQTT ------------------------------------------------------------------------------

  void start_mqtt() {
    if (!config_.mqtt) return;
    mqtt_ = std::make_unique<mqtt::Client>(io_, mqtt_options(*config_.mqtt));
    if (config_.mqtt->homeassistant) {
      // Home Assistant forgets discovery when it restarts and says so on its status topic.
      mqtt_->subscribe(config_.mqtt->discovery_prefix + "/status", [this](const std::string&, const std::string& payload) {
        if (payload == "online") publish_discovery();
      });
    }
    mqtt_->on_connect([this] { publish_discovery(); });
    mqtt_->start();
  }

  void publish_discovery() {
    if (!mqtt_) return;
    for (const auto& m : mqtt::discovery_messages(config_)) mqtt_->publish(m.topic, m.payload, m.qos, m.retain);
  }

  // ---- signals ---------------------------------------------------------------------------

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
      if (ip != listen_ip_ || next.network.listen_port != listen_port_) {
        auto fresh = bind(ip, next.network.listen_port);
        acceptor_->close();
        acceptor_.emplace(std::move(fresh));
        listen_ip_ = ip;
        listen_port_ = next.network.listen_port;
        accept();
        spdlog::info("reload: now listening on {}:{}", listen_ip_.str(), listen_port_);
      }
      const bool nflog_changed = next.network.nflog_group != config_.network.nflog_group;
      const bool broker_changed = plan.broker_changed;
      if (mqtt_ && !broker_changed) {
        for (const auto& m : mqtt::discovery_removals(config_, next)) mqtt_->publish(m.topic, m.payload, m.qos, m.retain);
      }
      std::set<std::string> names;
      for (const auto& b : next.buttons) names.insert(b.name);
      tracker_.keep_only(names);
      config_ = std::move(next);
      identifier_.set_networks(iot_networks(config_));
      if (nflog_changed) {
        stop_nflog();
        start_nflog();
      }
      if (broker_changed) {
        if (mqtt_) mqtt_->stop(1s);
        mqtt_.reset();
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

  /// SIGTERM/SIGINT: no new connections; running actions get shutdown_grace to finish.
  void shutdown(int sig) {
    spdlog::info("{}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    notify_systemd("STOPPING=1");
    stopping_ = true;
    boost::system::error_code ec;
    if (acceptor_) acceptor_->close(ec);
    if (control_) control_->close(ec);
    if (events_) events_->close(ec);
    stop_nflog();
    signals_.cancel(ec);
    if (inflight_ == 0) {
      io_.stop();
      return;
    }
    spdlog::info("waiting up to {} ms for {} running action{}", config_.daemon.shutdown_grace.count(), inflight_,
                 inflight_ == 1 ? "" : "s");
    grace_.emplace(io_, config_.daemon.shutdown_grace);
    grace_->async_wait([this](boost::system::error_code e) {
      if (e) return;
      if (inflight_) spdlog::warn("{} action{} still running at exit", inflight_, inflight_ == 1 ? "" : "s");
      io_.stop();
    });
  }

  // ---- the control socket -----------------------------------------------------------------

  void start_control() {
    const std::string& path = config_.daemon.control_socket;
    const std::string dir = util::dirname_of(path);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      const int err = errno;
      throw Error(err == EACCES ? Exit::no_perm : Exit::cant_create,
                  "creating " + dir + " for the control socket: " + util::errno_text(err),
                  "set daemon.control_socket to a place this user can write, or run under systemd with "
                  "RuntimeDirectory=dashctl");
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        throw Error(Exit::cant_create, path + " exists and is not a socket", "set daemon.control_socket elsewhere");
      if (ask(path, "ping"))
        throw Error(Exit::unavailable, "another 'dashctl run' answers on " + path);
      ::unlink(path.c_str());  // left by a daemon that died
    }
    const mode_t old = ::umask(0007);  // owner and group: status is for the admins
    boost::system::error_code ec;
    control_.emplace(io_);
    control_->open(local(), ec);
    if (!ec) control_->bind(local::endpoint(path), ec);
    ::umask(old);
    if (!ec) control_->listen(16, ec);
    if (ec) throw Error(Exit::cant_create, "listening on the control socket " + path + ": " + ec.message());
    control_accept();
  }

  void control_accept() {
    control_->async_accept([this](boost::system::error_code ec, local::socket socket) {
      if (ec == asio::error::operation_aborted || !control_ || !control_->is_open()) return;
      if (!ec && control_clients_ < 16) serve_control(std::move(socket));
      control_accept();
    });
  }

  struct ControlClient {
    ControlClient(local::socket s, asio::io_context& io) : socket(std::move(s)), deadline(io, 1s) {}
    local::socket socket;
    asio::steady_timer deadline;
    std::array<char, kMaxRequest> in{};  // a request is one short line (daemon/protocol.h)
    size_t received = 0;
    std::string out;
  };

  void serve_control(local::socket socket) {
    ++control_clients_;
    auto c = std::make_shared<ControlClient>(std::move(socket), io_);
    c->deadline.async_wait([c](boost::system::error_code e) {
      if (!e) c->socket.close(e);
    });
    read_control(c);
  }

  /// Reads until parse_request() has a request (answered, then closed) or a refusal (closed):
  /// never more than kMaxRequest bytes, so one read_some at a time into what is left of `in`.
  void read_control(const std::shared_ptr<ControlClient>& c) {
    auto finish = [this, c] {
      boost::system::error_code e;
      c->deadline.cancel();
      c->socket.close(e);
      --control_clients_;
    };
    c->socket.async_read_some(
        asio::buffer(c->in.data() + c->received, c->in.size() - c->received),
        [this, c, finish](boost::system::error_code ec, size_t n) {
          if (ec || n == 0) return finish();  // end of input, an error, or the deadline
          c->received += n;
          const Request request = parse_request(std::string_view(c->in.data(), c->received));
          if (request == Request::incomplete) return read_control(c);
          if (request == Request::too_long) return finish();
          c->out = answer(request) + "\n";
          asio::async_write(c->socket, asio::buffer(c->out), [finish](boost::system::error_code, size_t) { finish(); });
        });
  }

  std::string answer(Request request) {
    switch (request) {
      case Request::ping:
        return std::string(kAnswerOk);
      case Request::status:
        return status().dump();
      case Request::reload:
        // `dashctl learn` after it saved a button: as SIGHUP does, once this answer is out.
        asio::post(io_, [this] {
          if (!stopping_) reload();
        });
        return std::string(kAnswerOk);
      default:
        return std::string(kAnswerUnknown);
    }
  }

  /// A histogram's count and quantiles, in microseconds.
  static nlohmann::json latency_json(const util::Histogram& h) {
    auto us = [](std::chrono::nanoseconds d) { return static_cast<double>(d.count() / 100) / 10.0; };
    return {{"count", h.count()}, {"p50_us", us(h.quantile(0.5))}, {"p99_us", us(h.quantile(0.99))},
            {"max_us", us(h.max())}};
  }

  nlohmann::json status() {
    nlohmann::json buttons = nlohmann::json::array();
    const auto& states = tracker_.buttons();
    for (const auto& b : config_.buttons) {
      nlohmann::json j{{"name", b.name}, {"presses", 0}, {"sightings", 0}, {"last_press", nullptr}};
      if (const auto it = states.find(b.name); it != states.end()) {
        j["presses"] = it->second.presses;
        j["sightings"] = it->second.sightings;
        if (it->second.last_press) j["last_press"] = sighting_json(*it->second.last_press);
        auto sources = nlohmann::json::array();
        for (const auto src : it->second.press_sources) sources.push_back(press::source_name(src));
        j["press_sources"] = sources;
      }
      buttons.push_back(j);
    }
    nlohmann::json unknown = nlohmann::json::array();
    for (const auto& u : tracker_.unknown_devices()) {
      unknown.push_back({{"ip", u.ip.str()},
                         {"mac", u.mac ? nlohmann::json(u.mac->str()) : nlohmann::json()},
                         {"sightings", u.sightings},
                         {"last", sighting_json(u.last)}});
    }
    nlohmann::json mqtt = nullptr;
    if (mqtt_) {
      const auto s = mqtt_->stats();
      mqtt = {{"connected", s.connected}, {"published", s.published}, {"queued", s.queued}, {"dropped", s.dropped}};
    }
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_steady_);
    return {{"pid", ::getpid()},
            {"version", DASHCTL_VERSION},
            {"config", path_},
            {"started", iso_time(started_)},
            {"uptime_s", uptime.count()},
            {"listen", listen_ip_.str() + ":" + std::to_string(listen_port_)},
            {"counters",
             {{"connections", counters_.connections},
              {"busy", counters_.busy},
              {"open_connections", open_connections_},
              {"sightings", counters_.sightings},
              {"presses", counters_.presses},
              {"unknown", counters_.unknown},
              {"actions_ok", counters_.actions_ok},
              {"actions_failed", counters_.actions_failed},
              {"actions_running", inflight_},
              {"dhcp_events", counters_.dhcp_events},
              {"bad_datagrams", counters_.bad_datagrams},
              {"nflog_packets", counters_.nflog_packets},
              {"nflog_malformed", counters_.nflog_malformed}}},
            {"sources",
             {{"connect", true},
              {"dhcp", config_.daemon.event_socket},
              {"nflog", nflog_ ? nlohmann::json(nflog_->group()) : nlohmann::json(false)},
              {"nflog_lost", nflog_ ? nflog_->stats().lost : 0}}},
            {"latency",
             {{"accept_to_dispatch", latency_json(accept_to_dispatch_)},
              {"press_to_action", latency_json(press_to_action_)}}},
            {"mqtt", mqtt},
            {"buttons", buttons},
            {"unknown", unknown}};
  }

  asio::io_context io_;
  std::string path_;
  config::Config config_;
  press::Tracker tracker_;
  /// The daemon's own time per connection, from its accept to the end of its sighting (the
  /// button found, and a press's actions started), and per press, from the sighting that
  /// made it to its actions started (a program spawned, an MQTT message queued).
  util::Histogram accept_to_dispatch_, press_to_action_;
  netlink::NeighbourTable neighbours_;
  press::LeaseFile leases_;
  press::Identifier identifier_;
  std::unique_ptr<mqtt::Client> mqtt_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<local::acceptor> control_;
  std::optional<datagram::socket> events_;
  std::string event_path_;
  std::array<char, kMaxDatagram + 1> event_buf_{};  ///< one more: a longer datagram is refused, not cut
  std::unique_ptr<nflog::Socket> nflog_;
  std::optional<asio::posix::stream_descriptor> nflog_desc_;
  std::optional<asio::steady_timer> grace_;
  asio::signal_set signals_;
  Counters counters_;
  util::Ipv4 listen_ip_;
  uint16_t listen_port_ = 0;
  size_t open_connections_ = 0;
  size_t control_clients_ = 0;
  size_t inflight_ = 0;
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

std::vector<std::string> test_button(const config::Config& c, const std::string& name, bool& ok) {
  const auto* b = c.find_button(name);
  if (!b) throw Error(Exit::data, "no button '" + name + "'");
  asio::io_context io;
  std::unique_ptr<mqtt::Client> client;
  actions::Event e;
  e.button = b->name;
  e.mac = b->mac;
  e.ip = b->ip.value_or(util::Ipv4{});
  e.source = "test";
  e.time = std::chrono::system_clock::now();
  std::vector<std::string> lines;
  size_t pending = 0;
  size_t mqtt_messages = 0;
  ok = true;
  std::vector<std::string> mqtt_topics;
  if (c.mqtt) {
    // Its own client id and no availability topic: the running daemon keeps its session,
    // and nobody is told the daemon went offline.
    auto options = mqtt_options(*c.mqtt);
    options.client_id = (c.mqtt->client_id.empty() ? "dashctl" : c.mqtt->client_id) + "-test-" + std::to_string(::getpid());
    options.availability_topic.clear();
    client = std::make_unique<mqtt::Client>(io, options);
    client->start();
    press::Press p;
    p.button = b->name;
    p.first.source = press::Source::test;
    p.first.ip = e.ip;
    p.first.mac = b->mac;
    p.first.wall = e.time;
    const auto m = mqtt::press_message(*c.mqtt, p);
    client->publish(m.topic, m.payload, m.qos, m.retain);
    ++mqtt_messages;
  }
  for (const auto& a : b->on_press) {
    if (const auto* m = std::get_if<config::MqttAction>(&a)) {
      if (!client) continue;
      client->publish(actions::render(m->topic, e), actions::render(m->payload, e), m->qos.value_or(c.mqtt->qos), m->retain);
      ++mqtt_messages;
      mqtt_topics.push_back(actions::render(m->topic, e));
      continue;
    }
    ++pending;
    auto done = [&, kind = std::string(config::action_kind(a))](const actions::Outcome& o) {
      --pending;
      ok = ok && o.ok;
      lines.push_back(kind + ": " + (o.ok ? "" : "failed: ") + o.summary);
    };
    if (const auto* x = std::get_if<config::ExecAction>(&a))
      actions::run_exec(io, *x, e, done);
    else
      actions::run_webhook(io, std::get<config::WebhookAction>(a), e, done);
  }
  // Bounded: the longest action timeout, and a few seconds for the broker.
  const auto deadline = std::chrono::steady_clock::now() + 70s;
  const auto broker_deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    const bool broker_done = !client || (client->stats().connected && client->stats().queued == 0) ||
                             std::chrono::steady_clock::now() >= broker_deadline;
    if (pending == 0 && broker_done) break;
    io.run_for(20ms);
  }
  if (pending > 0) {
    ok = false;
    lines.push_back(std::to_string(pending) + " action(s) still running after 70 s: not waited for");
  }
  if (client) {
    client->stop(2s);
    const auto s = client->stats();
    const bool delivered = s.published >= mqtt_messages;
    for (const auto& t : mqtt_topics) lines.push_back("mqtt " + t + ": " + (delivered ? "delivered" : "not delivered"));
    if (!delivered) {
      ok = false;
      lines.push_back("mqtt: " + std::to_string(mqtt_messages - s.published) + " of " + std::to_string(mqtt_messages) +
                      " messages not delivered (is the broker at " + c.mqtt->url + " reachable?)");
    }
  }
  return lines;
}

}  // namespace dashctl::daemon
