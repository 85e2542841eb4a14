// SPDX-License-Identifier: GPL-2.0-or-later
// libmosquitto on the daemon's event loop. libmosquitto owns its socket (it opens and closes
// it); Asio only watches it, through a stream_descriptor that is released, never closed. All
// state lives on the event loop's thread: libmosquitto's callbacks run inside the
// mosquitto_loop_* calls made here.
//
// Where each message is:
//  - not connected: in `queue` (bounded by Options::queue_limit; mosquitto_publish is never
//    called then, because libmosquitto would hold QoS 1 messages without a bound);
//  - connected: handed to libmosquitto, and in `inflight` until it reports it done. A QoS 1
//    message that was in flight when the connection broke stays libmosquitto's: it sends
//    it again after the reconnection, not necessarily before what was queued meanwhile.
//
// Stats::published counts messages given to publish() that libmosquitto has finished with:
// QoS 0 once written to the socket, QoS 1 on the broker's PUBACK, QoS 2 on its PUBCOMP. The
// availability messages ("online", "offline") are not counted.
//
// libmosquitto looks a host name up with a blocking getaddrinfo inside its connect call, on
// whatever thread calls it: here, the event loop. So the client looks the name up itself,
// with Asio's resolver (getaddrinfo on Asio's own thread), before every attempt, and hands
// libmosquitto the address. libmosquitto then knows only that address, and would check the
// broker's certificate against it and send it as SNI. So with TLS the client gives it an
// SSL_CTX of its own, used as it is (MOSQ_OPT_SSL_CTX without the defaults): OpenSSL verifies
// the chain against the system's CAs and the certificate against the configured host
// (X509_VERIFY_PARAM), and SNI is set to the host name when each handshake starts (the info
// callback), or to none for an address, as RFC 6066 asks. (With the defaults, libmosquitto
// 2.0.11 installs its own verify callback, which rejects every certificate when it did not
// create the context itself: its SSL ex_data index is never set up.)

#include "mqtt/client.h"

#include <mosquitto.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <set>
#include <spdlog/spdlog.h>
#include <vector>

#include "util/error.h"

namespace dashctl::mqtt {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using util::Error;
using util::Exit;

namespace {

constexpr auto max_backoff = 60s;
constexpr size_t max_payload = 268435455;  // MQTT's limit
constexpr auto quiet = 100ms;               // stopping: a broker silent this long has nothing more to send

void init_library() {
  // Once per process, never cleaned up: cheap, and other clients may outlive any one.
  static const int rc = mosquitto_lib_init();
  (void)rc;
}

std::string default_client_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "dashctl";
  return std::string("dashctl-") + host;
}

/// A libmosquitto result in words; `err` is errno as it was right after the call.
std::string describe(int rc, int err) {
  if (rc == MOSQ_ERR_ERRNO) return util::errno_text(err);
  if (rc == MOSQ_ERR_KEEPALIVE) return "no answer within the keepalive";  // 2.0.11 has no words for it
  std::string s = mosquitto_strerror(rc);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

/// Results that mean the connection is going, not that the message is wrong.
bool connection_error(int rc) {
  return rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO;
}

std::string plural(size_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

bool is_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

using TlsContext = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

}  // namespace

struct Client::Impl {
  /// resolving: the host name is being looked up, no connection yet.
  enum class State { idle, resolving, connecting, connected, retrying, stopping, stopped };

  struct Outgoing {
    std::string topic, payload;
    int qos = 1;
    bool retain = false;
    bool counted = true;  ///< a publish() message, not an availability one
  };
  struct InFlight {
    int qos = 1;
    bool counted = true;
  };
  struct Subscription {
    std::string filter;
    MessageHandler handler;
  };

  Options options;
  mosquitto* mosq = nullptr;

  asio::posix::stream_descriptor socket;  ///< libmosquitto's socket, watched, never owned
  uint64_t generation = 0;                ///< bumped on release: older waits are stale
  bool reading = false, writing = false;  ///< a wait is armed
  asio::steady_timer housekeeping;        ///< mosquitto_loop_misc, once a second
  asio::steady_timer retry;
  asio::ip::tcp::resolver resolver;
  uint64_t attempt = 0;   ///< bumped by every connection attempt: an older lookup's answer is stale
  size_t failures = 0;    ///< attempts failed since the last connection: which address is next
  std::string address;    ///< what the host name resolved to for this attempt
  TlsContext tls_context{nullptr, SSL_CTX_free};
  std::string tls_problem;  ///< why OpenSSL refused the broker's certificate in this attempt

  State state = State::idle;
  std::chrono::seconds backoff{1};
  bool failure_logged = false;  ///< since the last connection: log the first failure only
  std::string refusal;          ///< the broker's CONNACK reason, for the disconnect that follows

  std::deque<Outgoing> queue;
  bool overflowing = false;  ///< warned about this overflow episode
  std::map<int, InFlight> inflight;
  std::set<int> early;  ///< done inside mosquitto_publish, before its mid was known to us
  bool in_publish = false;

  std::vector<Subscription> subscriptions;
  std::function<void()> connect_handler;
  Stats stats;
  /// Who said "online" last on the availability topic: `<availability_topic>/client`, retained,
  /// the client id, published just before "online". Another daemon's id there means this one
  /// is not the one online, and says no "offline" when it stops.
  std::string owner_topic;
  bool shared_warned = false;
  int unsubscribing = 0;             ///< while stopping: the mid of the UNSUBSCRIBE not yet acknowledged
  Clock::time_point last_message{};  ///< while stopping: when the last message for this client came in

  /// Asio handlers hold this weakly: after the client is gone they do nothing.
  std::shared_ptr<int> alive = std::make_shared<int>(0);

  Impl(asio::io_context& context, Options o)
      : options(std::move(o)), socket(context), housekeeping(context), retry(context), resolver(context) {
    init_library();
    if (options.client_id.empty()) options.client_id = default_client_id();
    // mosquitto_new also ignores SIGPIPE, process-wide: libmosquitto writes with write(2),
    // and a broker gone mid-write must not kill the daemon.
    mosq = mosquitto_new(options.client_id.c_str(), true, this);
    if (!mosq) throw Error(Exit::software, "cannot create an MQTT client: " + util::errno_text(errno));
    mosquitto_connect_callback_set(mosq, [](mosquitto*, void* obj, int rc) { self(obj).connected(rc); });
    mosquitto_disconnect_callback_set(mosq, [](mosquitto*, void* obj, int rc) { self(obj).disconnected(rc); });
    mosquitto_publish_callback_set(mosq, [](mosquitto*, void* obj, int mid) { self(obj).published(mid); });
    mosquitto_unsubscribe_callback_set(mosq, [](mosquitto*, void* obj, int mid) {
      if (mid == self(obj).unsubscribing) self(obj).unsubscribing = 0;
    });
    mosquitto_message_callback_set(
        mosq, [](mosquitto*, void* obj, const mosquitto_message* m) { self(obj).message(*m); });
    try {
      if (!options.username.empty()) {
        const char* password = options.password.empty() ? nullptr : options.password.c_str();
        check(mosquitto_username_pw_set(mosq, options.username.c_str(), password), "username");
      }
      if (!options.availability_topic.empty()) {
        // The broker publishes this when the connection ends without a DISCONNECT.
        check(mosquitto_will_set(mosq, options.availability_topic.c_str(), 7, "offline", 1, true),
              "availability topic '" + options.availability_topic + "'");
      }
      if (options.tls) use_tls();
    } catch (...) {
      mosquitto_destroy(mosq);
      throw;
    }
    if (!options.availability_topic.empty()) watch_availability();
  }

  /// Another daemon on the same availability topic (the same topic_prefix) that stops says
  /// "offline" while this one runs: said again. And when this one stops after another came
  /// online there, it leaves the topic to it.
  void watch_availability() {
    owner_topic = options.availability_topic + "/client";
    subscriptions.push_back({owner_topic, [this](const std::string&, const std::string& payload) {
                               stats.online_elsewhere = !payload.empty() && payload != options.client_id;
                               if (!stats.online_elsewhere || shared_warned) return;
                               shared_warned = true;
                               spdlog::warn("mqtt: another client ({}) says it is online on {}: give each daemon its "
                                            "own mqtt.topic_prefix",
                                            payload, options.availability_topic);
                             }});
    subscriptions.push_back({options.availability_topic, [this](const std::string&, const std::string& payload) {
                               if (payload != "offline" || state != State::connected) return;
                               spdlog::info("mqtt: {} said offline while this daemon runs: online again",
                                            options.availability_topic);
                               announce();
                             }});
  }

  /// This daemon is the one online: its id, then "online", both retained.
  void announce() {
    send({owner_topic, options.client_id, 1, true, false});
    send({options.availability_topic, "online", 1, true, false});
  }

  ~Impl() {
    // Without stop(): no DISCONNECT, so the broker publishes the will.
    alive.reset();
    release();
    mosquitto_destroy(mosq);  // closes the socket; runs no callbacks
  }

  static Impl& self(void* obj) { return *static_cast<Impl*>(obj); }

  // ---- TLS ---------------------------------------------------------------------------------

  /// TLS as libmosquitto would set it up (the CAs in /etc/ssl/certs, TLS 1.1 or later, no
  /// compression), in a context of ours that checks the certificate against options.host:
  /// see the top.
  void use_tls() {
    tls_context.reset(SSL_CTX_new(TLS_client_method()));
    if (!tls_context) throw Error(Exit::software, "mqtt: cannot create a TLS context");
    SSL_CTX* ctx = tls_context.get();
    SSL_CTX_set_min_proto_version(ctx, TLS1_1_VERSION);  // the system's OpenSSL config may ask more
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    // OpenSSL's default locations (the system's CAs, or SSL_CERT_FILE and SSL_CERT_DIR, as a
    // webhook's https honours them) and the directory libmosquitto was given before.
    SSL_CTX_set_default_verify_paths(ctx);
    SSL_CTX_load_verify_dir(ctx, "/etc/ssl/certs");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
    const int named = is_address(options.host) ? X509_VERIFY_PARAM_set1_ip_asc(param, options.host.c_str())
                                               : X509_VERIFY_PARAM_set1_host(param, options.host.c_str(), 0);
    if (named != 1) throw Error(Exit::data, "mqtt: invalid TLS host name '" + options.host + "'");
    SSL_CTX_set_app_data(ctx, this);
    SSL_CTX_set_info_callback(ctx, [](const SSL* ssl, int where, int) { tls_event(ssl, where); });
    check(mosquitto_void_option(mosq, MOSQ_OPT_SSL_CTX, ctx), "TLS");  // libmosquitto takes a reference
    check(mosquitto_int_option(mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0), "TLS");  // on by default
  }

  /// OpenSSL's info callback, inside libmosquitto's calls on the loop.
  static void tls_event(const SSL* ssl, int where) {
    Impl& c = *static_cast<Impl*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
    // The SSL is libmosquitto's and not const; OpenSSL passes it as const to every info callback.
    SSL* s = const_cast<SSL*>(ssl);
    if (where & SSL_CB_HANDSHAKE_START) {
      // Before the ClientHello is built. SSL_set_tlsext_host_name is a macro that casts the old way.
      const bool by_address = is_address(c.options.host);
      SSL_ctrl(s, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               by_address ? nullptr : const_cast<char*>(c.options.host.c_str()));
    } else if ((where & SSL_CB_ALERT) && (where & SSL_CB_WRITE)) {
      // Our side ends the handshake: say why, where libmosquitto would only say "TLS error".
      const long result = SSL_get_verify_result(ssl);
      if (result != X509_V_OK)
        c.tls_problem = std::string("TLS handshake: certificate verify failed (") +
                        X509_verify_cert_error_string(result) + ")";
    }
  }

  /// Why an attempt failed, from a libmosquitto result and errno right after it.
  std::string failure(int rc, int err) const { return tls_problem.empty() ? describe(rc, err) : tls_problem; }

  void check(int rc, const std::string& what) {
    if (rc != MOSQ_ERR_SUCCESS) throw Error(Exit::data, "mqtt: invalid " + what + ": " + describe(rc, errno));
  }

  template <class F>
  auto guarded(F f) {
    return [w = std::weak_ptr<int>(alive), f = std::move(f)](boost::system::error_code ec) {
      if (!w.expired()) f(ec);
    };
  }

  bool active() const { return state == State::connecting || state == State::connected; }

  // ---- the socket ------------------------------------------------------------------------

  /// Stops watching libmosquitto's socket, which stays open: libmosquitto closes it.
  void release() {
    if (socket.is_open()) socket.release();  // cancels the waits: they see a stale generation
    reading = writing = false;
    ++generation;
  }

  /// Watches the socket for reads always, and for writes while libmosquitto has something
  /// to send. Called after every call into libmosquitto.
  void watch() {
    if (!active()) return;
    const int fd = mosquitto_socket(mosq);
    if (fd < 0) {
      release();
      return;
    }
    if (socket.is_open() && socket.native_handle() != fd) release();
    if (!socket.is_open()) {
      boost::system::error_code ec;
      socket.assign(fd, ec);
      if (ec) {
        lost("cannot watch the socket: " + ec.message());
        return;
      }
    }
    if (!reading) {
      reading = true;
      socket.async_wait(asio::posix::stream_descriptor::wait_read,
                        guarded([this, g = generation](boost::system::error_code ec) {
                          if (g != generation) return;
                          reading = false;
                          if (ec == asio::error::operation_aborted) return;
                          after(mosquitto_loop_read(mosq, 1));
                        }));
    }
    if (!writing && mosquitto_want_write(mosq)) {
      writing = true;
      socket.async_wait(asio::posix::stream_descriptor::wait_write,
                        guarded([this, g = generation](boost::system::error_code ec) {
                          if (g != generation) return;
                          writing = false;
                          if (ec == asio::error::operation_aborted) return;
                          after(mosquitto_loop_write(mosq, 1));
                        }));
    }
  }

  /// After a mosquitto_loop_* call: a failure that libmosquitto did not report through the
  /// disconnect callback still ends the connection.
  void after(int rc) {
    const int err = errno;
    if (rc != MOSQ_ERR_SUCCESS && active()) lost(failure(rc, err));
    watch();
  }

  void tick() {
    housekeeping.expires_after(1s);
    housekeeping.async_wait(guarded([this](boost::system::error_code ec) {
      if (ec || state == State::stopping || state == State::stopped) return;
      if (active()) after(mosquitto_loop_misc(mosq));  // keepalive pings; a silent broker times out
      tick();
    }));
  }

  // ---- connecting --------------------------------------------------------------------------

  /// An attempt: looks the host name up (again: the broker may have moved), then connects.
  void connect() {
    release();
    state = State::resolving;
    refusal.clear();
    tls_problem.clear();
    auto done = [this, w = std::weak_ptr<int>(alive), a = ++attempt](Resolved r) {
      if (w.expired() || a != attempt || state != State::resolving) return;  // stopped, or gone
      if (r.addresses.empty()) {
        lost("cannot resolve " + options.host + ": " + (r.error.empty() ? "no address" : r.error));
        return;
      }
      address = r.addresses[failures % r.addresses.size()];
      if (address != options.host) spdlog::debug("mqtt: {} is {}", options.host, address);
      connect_to(address);
    };
    if (options.resolve) {
      options.resolve(options.host, std::move(done));
      return;
    }
    resolver.async_resolve(options.host, std::to_string(options.port), asio::ip::tcp::resolver::numeric_service,
                           [done = std::move(done)](const boost::system::error_code& ec,
                                                    const asio::ip::tcp::resolver::results_type& results) {
                             Resolved r;
                             if (ec == asio::error::operation_aborted) return;
                             if (ec) r.error = ec.message();
                             for (const auto& e : results) r.addresses.push_back(e.endpoint().address().to_string());
                             done(std::move(r));
                           });
  }

  void connect_to(const std::string& to) {
    state = State::connecting;
    // connect_async rather than reconnect_async: it is the same plus re-reading host and
    // port, so it also works after a first attempt that failed before libmosquitto kept
    // them. Given an address, its getaddrinfo returns at once. libmosquitto refuses a
    // keepalive under 5 s.
    const int keepalive = static_cast<int>(std::max<int64_t>(options.keepalive.count(), 5));
    const int rc = mosquitto_connect_async(mosq, to.c_str(), options.port, keepalive);
    const int err = errno;
    if (rc != MOSQ_ERR_SUCCESS) {
      lost(failure(rc, err));
      return;
    }
    watch();
  }

  /// The connection failed or ended: try again after the back-off.
  void lost(const std::string& why) {
    release();
    const bool was_connected = state == State::connected;
    if (!was_connected) ++failures;
    state = State::retrying;
    stats.connected = false;
    // QoS 0 messages not yet written die with the connection; QoS 1 stay libmosquitto's.
    std::erase_if(inflight, [](const auto& kv) { return kv.second.qos == 0; });
    const auto delay = backoff;
    backoff = std::min<std::chrono::seconds>(backoff * 2, max_backoff);
    if (was_connected) {
      spdlog::warn("mqtt: disconnected ({}); retrying in {}s", why, delay.count());
      failure_logged = true;
    } else if (!failure_logged) {
      spdlog::warn("mqtt: cannot connect to {}:{} ({}); retrying in {}s", options.host, options.port, why,
                   delay.count());
      failure_logged = true;
    } else {
      spdlog::debug("mqtt: cannot connect to {}:{} ({}); retrying in {}s", options.host, options.port, why,
                    delay.count());
    }
    retry.expires_after(delay);
    retry.async_wait(guarded([this](boost::system::error_code ec) {
      if (!ec && state == State::retrying) connect();
    }));
  }

  // ---- libmosquitto's callbacks ----------------------------------------------------------

  void connected(int rc) {
    if (state != State::connecting) return;
    if (rc != 0) {
      // libmosquitto ends the connection next and reports it through disconnected().
      refusal = mosquitto_connack_string(rc);
      if (!refusal.empty() && refusal.back() == '.') refusal.pop_back();
      return;
    }
    state = State::connected;
    stats.connected = true;
    ++stats.connects;
    backoff = 1s;
    failures = 0;
    failure_logged = false;
    spdlog::info("mqtt: connected to {}:{}{}", options.host, options.port,
                 address == options.host ? "" : " (" + address + ")");
    if (!options.availability_topic.empty()) announce();
    std::set<std::string> done;
    for (const auto& s : subscriptions)
      if (done.insert(s.filter).second) subscribe_now(s.filter);
    // A copy: a message that cannot go out now goes back to the queue, after the others.
    auto pending = std::move(queue);
    queue.clear();
    overflowing = false;
    if (!pending.empty()) spdlog::info("mqtt: sending {} queued while disconnected", plural(pending.size(), "message"));
    for (const auto& m : pending) send(m);
    if (connect_handler) call("connect handler", connect_handler);
  }

  void disconnected(int rc) {
    const int err = errno;
    release();
    if (active()) lost(refusal.empty() ? failure(rc, err) : refusal);
  }

  void published(int mid) {
    const auto it = inflight.find(mid);
    if (it != inflight.end()) {
      if (it->second.counted) ++stats.published;
      inflight.erase(it);
    } else if (in_publish) {
      early.insert(mid);
    }
  }

  void message(const mosquitto_message& m) {
    if (state == State::stopping) last_message = Clock::now();
    if (state != State::connected || !m.topic) return;  // none while stopping
    const std::string topic = m.topic;
    const std::string payload =
        m.payload && m.payloadlen > 0 ? std::string(static_cast<const char*>(m.payload), size_t(m.payloadlen)) : "";
    // Copies: a handler may subscribe, which grows the list.
    std::vector<MessageHandler> matching;
    for (const auto& s : subscriptions) {
      bool match = false;
      if (mosquitto_topic_matches_sub(s.filter.c_str(), topic.c_str(), &match) == MOSQ_ERR_SUCCESS && match)
        matching.push_back(s.handler);
    }
    for (const auto& h : matching) call("handler for " + topic, [&] { h(topic, payload); });
  }

  /// Runs a handler of the daemon's inside a libmosquitto callback, which an exception must
  /// not cross.
  template <class F>
  void call(const std::string& what, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      spdlog::error("mqtt: {}: {}", what, e.what());
    } catch (...) {
      spdlog::error("mqtt: {}: unknown exception", what);
    }
  }

  // ---- publishing and subscribing -------------------------------------------------------

  /// Hands a message to libmosquitto; only while connected.
  void send(const Outgoing& m) {
    int mid = 0;
    in_publish = true;  // libmosquitto may write, and report a QoS 0 message done, right away
    const int rc = mosquitto_publish(mosq, &mid, m.topic.c_str(), static_cast<int>(m.payload.size()),
                                     m.payload.data(), m.qos, m.retain);
    const int err = errno;
    in_publish = false;
    const bool done_early = early.contains(mid);
    early.clear();
    if (rc == MOSQ_ERR_SUCCESS || (m.qos > 0 && connection_error(rc))) {
      // For QoS 1 and 2 libmosquitto keeps the message even when the write failed, and sends
      // it again after the reconnection.
      if (done_early) {
        if (m.counted) ++stats.published;
      } else {
        inflight[mid] = {m.qos, m.counted};
      }
    } else if (connection_error(rc)) {
      enqueue(m);  // QoS 0: lost with the connection otherwise
    } else {
      spdlog::error("mqtt: cannot publish to {}: {}", m.topic, describe(rc, err));
    }
  }

  void enqueue(const Outgoing& m) {
    if (options.queue_limit == 0) {
      ++stats.dropped;
      return;
    }
    if (queue.size() >= options.queue_limit) {
      queue.pop_front();
      ++stats.dropped;
      if (!overflowing) {
        spdlog::warn("mqtt: broker unavailable and {} queued; dropping the oldest",
                     plural(options.queue_limit, "message"));
        overflowing = true;
      }
    }
    queue.push_back(m);
  }

  void subscribe_now(const std::string& filter) {
    const int rc = mosquitto_subscribe(mosq, nullptr, filter.c_str(), 1);
    const int err = errno;
    if (rc != MOSQ_ERR_SUCCESS) spdlog::warn("mqtt: cannot subscribe to {}: {}", filter, describe(rc, err));
  }

  // ---- stopping ----------------------------------------------------------------------------

  /// Asks the broker to send nothing more. libmosquitto closes the socket as soon as it has
  /// written the DISCONNECT, and a socket closed with unread data in it is reset, not closed:
  /// a broker still writing to it then takes the connection as lost and publishes the will,
  /// "offline", though this client said goodbye. Once the UNSUBACK is read, everything the
  /// broker sent before it has been read too, and it sends nothing after it.
  void unsubscribe_all() {
    std::set<std::string> filters;
    for (const auto& s : subscriptions) filters.insert(s.filter);
    if (filters.empty()) return;
    std::vector<char*> list;
    for (const auto& f : filters) list.push_back(const_cast<char*>(f.c_str()));
    int mid = 0;
    if (mosquitto_unsubscribe_multiple(mosq, &mid, static_cast<int>(list.size()), list.data(), nullptr) ==
        MOSQ_ERR_SUCCESS)
      unsubscribing = mid;
  }

  /// Drives libmosquitto with poll(2), not the io_context (which may be stopped, and whose
  /// other handlers must not run inside stop()), until `done` or the deadline.
  template <class F>
  void pump(Clock::time_point deadline, F done) {
    for (;;) {
      const int fd = mosquitto_socket(mosq);
      const auto now = Clock::now();
      if (done() || fd < 0 || now >= deadline) return;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
      pollfd p{fd, static_cast<short>(POLLIN | (mosquitto_want_write(mosq) ? POLLOUT : 0)), 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::clamp<int64_t>(left, 1, 100)));
      if (n < 0 && errno != EINTR) return;
      int rc = MOSQ_ERR_SUCCESS;
      if (n > 0 && (p.revents & (POLLIN | POLLERR | POLLHUP))) rc = mosquitto_loop_read(mosq, 1);
      if (rc == MOSQ_ERR_SUCCESS && n > 0 && (p.revents & POLLOUT) && mosquitto_socket(mosq) >= 0)
        rc = mosquitto_loop_write(mosq, 1);
      if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(mosq) >= 0) rc = mosquitto_loop_misc(mosq);
      if (rc != MOSQ_ERR_SUCCESS) return;
    }
  }

  void stop(std::chrono::milliseconds grace) {
    if (state == State::stopped || state == State::stopping) return;
    const bool was_connected = state == State::connected;
    state = State::stopping;
    retry.cancel();
    housekeeping.cancel();
    resolver.cancel();  // a lookup in progress ends on Asio's thread; its answer is ignored
    release();
    const auto deadline = Clock::now() + grace;
    if (was_connected) {
      // Not when another daemon said it is online since this one did: it still is.
      if (!options.availability_topic.empty() && !stats.online_elsewhere)
        send({options.availability_topic, "offline", 1, true, false});
      unsubscribe_all();
      pump(deadline, [this] { return inflight.empty() && unsubscribing == 0; });
      // Messages came in while stopping: the broker may hold more for this client beyond its
      // in-flight window, sent as this one acknowledges the others, subscribed or not. Read
      // until it has been quiet a moment.
      if (last_message != Clock::time_point{})
        pump(deadline, [this] { return Clock::now() - last_message >= quiet; });
      if (!inflight.empty())
        spdlog::warn("mqtt: {} not acknowledged within {} ms", plural(inflight.size(), "message"), grace.count());
    }
    if (mosquitto_socket(mosq) >= 0) {
      // A DISCONNECT: the broker drops the will. A little time for it even when the grace is spent.
      if (was_connected && mosquitto_disconnect(mosq) == MOSQ_ERR_SUCCESS)
        pump(std::max(deadline, Clock::now() + 100ms), [this] { return !mosquitto_want_write(mosq); });
    }
    if (!queue.empty()) spdlog::warn("mqtt: stopping with {} never sent", plural(queue.size(), "message"));
    stats.connected = false;
    state = State::stopped;
  }
};

Client::Client(boost::asio::io_context& io, Options options) : impl_(std::make_unique<Impl>(io, std::move(options))) {}

Client::~Client() = default;

void Client::start() {
  if (impl_->state != Impl::State::idle) return;
  impl_->tick();
  impl_->connect();
}

void Client::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  Impl& c = *impl_;
  if (c.state == Impl::State::stopped || c.state == Impl::State::stopping) {
    ++c.stats.dropped;
    return;
  }
  if (mosquitto_pub_topic_check(topic.c_str()) != MOSQ_ERR_SUCCESS) {
    spdlog::error("mqtt: cannot publish to '{}': not a valid topic", topic);
    return;
  }
  if (payload.size() > max_payload) {
    spdlog::error("mqtt: cannot publish to {}: the payload is too large", topic);
    return;
  }
  const Impl::Outgoing m{topic, payload, std::clamp(qos, 0, 2), retain, true};
  if (c.state == Impl::State::connected) {
    c.send(m);
    c.watch();
  } else {
    c.enqueue(m);
  }
}

void Client::subscribe(const std::string& topic, MessageHandler handler) {
  Impl& c = *impl_;
  if (mosquitto_sub_topic_check(topic.c_str()) != MOSQ_ERR_SUCCESS)
    throw Error(Exit::data, "mqtt: cannot subscribe to '" + topic + "': not a valid topic filter");
  const bool known = std::any_of(c.subscriptions.begin(), c.subscriptions.end(),
                                 [&](const auto& s) { return s.filter == topic; });
  c.subscriptions.push_back({topic, std::move(handler)});
  if (c.state == Impl::State::connected && !known) {
    c.subscribe_now(topic);
    c.watch();
  }
}

void Client::on_connect(std::function<void()> handler) { impl_->connect_handler = std::move(handler); }

void Client::stop(std::chrono::milliseconds grace) { impl_->stop(grace); }

Stats Client::stats() const {
  Stats s = impl_->stats;
  s.queued = impl_->queue.size();
  return s;
}

}  // namespace dashctl::mqtt
