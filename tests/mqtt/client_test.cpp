// SPDX-License-Identifier: GPL-2.0-or-later
// The MQTT client against a real mosquitto that each test starts on a free port of
// 127.0.0.1, watched by a second client: delivery, availability and the will, the offline
// queue across a broker restart, subscriptions. Every wait is bounded.

#include "support/catch.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mqtt/broker.h"
#include "mqtt/client.h"
#include "util/error.h"

using namespace dashctl;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Strings = std::vector<std::string>;

namespace {

/// Runs the loop until `done` holds or `limit` passes.
template <class F>
bool run_until(boost::asio::io_context& io, F done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    io.restart();
    io.run_for(20ms);
    if (io.stopped()) std::this_thread::sleep_for(10ms);  // out of work: the other side is slow
  }
  return true;
}

/// Runs the loop for `d`, whatever happens.
void run_for(boost::asio::io_context& io, std::chrono::milliseconds d) {
  run_until(io, [] { return false; }, d);
}

mqtt::Options options(uint16_t port) {
  mqtt::Options o;
  o.host = "127.0.0.1";
  o.port = port;
  o.client_id = "dashctl-test";
  o.availability_topic = "dashctl/status";
  return o;
}

/// A name server as slow as the test wants: each lookup waits until the test answers it.
struct SlowResolver {
  Strings asked;  ///< the host names looked up, in order
  std::vector<std::function<void(mqtt::Resolved)>> waiting;

  mqtt::Resolve resolve() {
    return [this](const std::string& host, std::function<void(mqtt::Resolved)> done) {
      asked.push_back(host);
      waiting.push_back(std::move(done));
    };
  }
  /// Answers the oldest lookup still waiting.
  void answer(mqtt::Resolved r) {
    REQUIRE_FALSE(waiting.empty());
    auto done = std::move(waiting.front());
    waiting.erase(waiting.begin());
    done(std::move(r));
  }
};

/// The client's host for the tests that give it a resolver: a name no DNS knows.
const char* kBrokerName = "broker.dashctl.test";

/// options(port) for a client that looks `host` up with `dns`.
mqtt::Options named(uint16_t port, SlowResolver& dns, const std::string& host = kBrokerName) {
  auto o = options(port);
  o.host = host;
  o.resolve = dns.resolve();
  return o;
}

/// SSL_CERT_FILE for one scope: the CAs OpenSSL's default locations trust.
struct TrustedCertificates {
  explicit TrustedCertificates(const std::string& file) { ::setenv("SSL_CERT_FILE", file.c_str(), 1); }
  ~TrustedCertificates() { ::unsetenv("SSL_CERT_FILE"); }
};

/// A broker with TLS and `certificate` on 127.0.0.1, and a client for "localhost" that the
/// resolver sends to 127.0.0.1: whether its first attempt connects.
bool tls_connects(const test::Certificate& certificate) {
  test::Broker broker(true, "certfile " + certificate.cert + "\nkeyfile " + certificate.key +
                                "\nallow_anonymous true\n");
  boost::asio::io_context io;
  SlowResolver dns;
  auto o = named(broker.port(), dns, "localhost");
  o.tls = true;
  mqtt::Client client(io, o);
  client.start();
  dns.answer({{"127.0.0.1"}, {}});
  // Connected, or failed and looking the name up for the next attempt.
  REQUIRE(run_until(io, [&] { return client.stats().connected || dns.waiting.size() == 1; }));
  const bool connected = client.stats().connected;
  client.stop(1s);
  return connected;
}

}  // namespace

TEST_CASE("publishes to the broker and counts what it has acknowledged") {
  test::Broker broker;
  test::Observer peer(broker.port(), "out/#");
  boost::asio::io_context io;
  mqtt::Client client(io, options(broker.port()));
  client.start();
  REQUIRE(run_until(io, [&] { return client.stats().connected; }));

  client.publish("out/a", "one", 1, false);
  client.publish("out/b", "two", 0, false);
  REQUIRE(run_until(io, [&] { return peer.count() == 2 && client.stats().published == 2; }));
  CHECK(peer.payloads("out/a") == Strings{"one"});
  CHECK(peer.payloads("out/b") == Strings{"two"});
  const auto s = client.stats();
  CHECK(s.connected);
  CHECK(s.connects == 1);
  CHECK(s.queued == 0);
  CHECK(s.dropped == 0);
  client.stop(2s);
}

TEST_CASE("availability: online (retained) once connected, offline (retained) after stop") {
  test::Broker broker;
  test::Observer peer(broker.port(), "dashctl/status");
  boost::asio::io_context io;
  mqtt::Client client(io, options(broker.port()));
  client.start();
  REQUIRE(run_until(io, [&] { return peer.payloads("dashctl/status") == Strings{"online"}; }));
  {
    test::Observer late(broker.port(), "dashctl/status");
    REQUIRE(test::eventually([&] { return late.count() == 1; }));
    CHECK(late.received()[0].payload == "online");
    CHECK(late.received()[0].retained);
  }

  const auto start = Clock::now();
  client.stop(60s);
  CHECK(Clock::now() - start < 30s);  // once "offline" is acknowledged, not at the end of the grace
  CHECK_FALSE(client.stats().connected);
  CHECK(client.stats().published == 0);  // availability messages are not counted
  REQUIRE(test::eventually([&] { return peer.payloads("dashctl/status") == Strings{"online", "offline"}; }));
  test::Observer late(broker.port(), "dashctl/status");
  REQUIRE(test::eventually([&] { return late.count() == 1; }));
  CHECK(late.received()[0].payload == "offline");
  CHECK(late.received()[0].retained);
  // stop() said DISCONNECT: the broker dropped the will rather than publishing it too.
  std::this_thread::sleep_for(200ms);
  CHECK(peer.payloads("dashctl/status") == Strings{"online", "offline"});
}

TEST_CASE("availability with two daemons on one topic: never left offline while one runs") {
  test::Broker broker;
  test::Observer peer(broker.port(), "dashctl/status");
  boost::asio::io_context io;
  auto with_id = [&](const char* id) {
    auto o = options(broker.port());
    o.client_id = id;
    return o;
  };
  mqtt::Client a(io, with_id("dashctl-a"));
  a.start();
  REQUIRE(run_until(io, [&] { return a.stats().connected; }));
  auto b = std::make_unique<mqtt::Client>(io, with_id("dashctl-b"));
  b->start();
  REQUIRE(run_until(io, [&] { return b->stats().connected && a.stats().online_elsewhere; }));
  CHECK_FALSE(b->stats().online_elsewhere);
  // b came online last and stops: it says offline; a, still running, says online again.
  b->stop(2s);
  b.reset();
  REQUIRE(run_until(io, [&] {
    const auto p = peer.payloads("dashctl/status");
    return p.size() >= 4 && p.back() == "online";
  }));
  CHECK(peer.payloads("dashctl/status") == Strings{"online", "online", "offline", "online"});
  CHECK_FALSE(a.stats().online_elsewhere);  // a said its id again

  // c comes online after a; a stops: a says nothing, c is still online.
  mqtt::Client c(io, with_id("dashctl-c"));
  c.start();
  REQUIRE(run_until(io, [&] { return c.stats().connected && a.stats().online_elsewhere; }));
  a.stop(2s);  // had a said offline, the broker has it now: before c's own below
  c.stop(2s);
  REQUIRE(test::eventually([&] { return peer.payloads("dashctl/status").size() >= 6; }));
  CHECK(peer.payloads("dashctl/status") == Strings{"online", "online", "offline", "online", "online", "offline"});
}

TEST_CASE("a client that stops while messages arrive for it still leaves cleanly: the broker drops its will") {
  // A broker that holds nothing back for a client (no in-flight window): everything it sends
  // before the client's UNSUBACK the client reads, and nothing comes after.
  test::Broker broker(true, "allow_anonymous true\nmax_inflight_messages 0\n");
  test::Observer peer(broker.port(), "dashctl/status");
  test::Observer sender(broker.port(), "none/#");
  for (int round = 0; round < 20; ++round) {
    INFO("round " << round);
    boost::asio::io_context io;
    mqtt::Client client(io, options(broker.port()));
    int heard = 0;
    client.subscribe("cmd/#", [&](const std::string&, const std::string&) { ++heard; });
    client.start();
    const size_t before = peer.count();
    REQUIRE(run_until(io, [&] { return peer.count() == before + 1; }));  // its "online"
    // Messages for it keep coming while it stops: some are in its socket when it goes.
    std::atomic<bool> stopping = false;
    std::thread flood([&] {
      for (int i = 0; i < 100000 && !stopping; ++i) sender.send("cmd/x", "m");
    });
    REQUIRE(run_until(io, [&] { return heard > 0; }));
    client.stop(60s);  // the grace is not what is tested: a busy machine may need more than 2 s
    stopping = true;
    flood.join();
    REQUIRE(test::eventually([&] { return peer.count() >= before + 2; }));
    std::this_thread::sleep_for(50ms);
    const auto p = peer.payloads("dashctl/status");
    CHECK(Strings(p.begin() + long(before), p.end()) == Strings{"online", "offline"});
  }
}

TEST_CASE("the broker publishes the will when the client vanishes without stop") {
  test::Broker broker;
  test::Observer peer(broker.port(), "dashctl/status");
  {
    boost::asio::io_context io;
    mqtt::Client client(io, options(broker.port()));
    client.start();
    REQUIRE(run_until(io, [&] { return peer.payloads("dashctl/status") == Strings{"online"}; }));
  }  // destroyed without stop(): the connection closes without a DISCONNECT
  REQUIRE(test::eventually([&] { return peer.payloads("dashctl/status") == Strings{"online", "offline"}; }));
  CHECK(peer.received()[1].retained == false);  // delivered live; the broker keeps it retained
  test::Observer late(broker.port(), "dashctl/status");
  REQUIRE(test::eventually([&] { return late.count() == 1; }));
  CHECK(late.received()[0].payload == "offline");
}

TEST_CASE("across a broker restart: queued messages go out in order, subscriptions and on_connect come back") {
  test::Broker broker;
  boost::asio::io_context io;
  mqtt::Client client(io, options(broker.port()));
  int connects = 0;
  Strings heard;
  client.subscribe("cmd/x", [](const std::string&, const std::string&) { throw std::runtime_error("boom"); });
  client.subscribe("cmd/#", [&](const std::string& t, const std::string& p) { heard.push_back(t + "=" + p); });
  client.subscribe("other/+", [&](const std::string& t, const std::string&) { heard.push_back("wrong " + t); });
  client.on_connect([&] { ++connects; });
  client.start();
  REQUIRE(run_until(io, [&] { return connects == 1; }));
  {
    test::Observer peer(broker.port(), "out/#");
    // The subscriptions went out before this: once it arrives, the broker has them.
    client.publish("out/sync", "1", 1, false);
    REQUIRE(run_until(io, [&] { return peer.count() == 1; }));
    peer.publish("cmd/x", "one");
    REQUIRE(run_until(io, [&] { return heard.size() == 1; }));
    CHECK(heard == Strings{"cmd/x=one"});  // the throwing handler did not stop the other
  }

  broker.stop();
  REQUIRE(run_until(io, [&] { return !client.stats().connected; }));
  for (const char* p : {"m1", "m2", "m3", "m4", "m5"}) client.publish("out/queued", p, 1, false);
  CHECK(client.stats().queued == 5);

  // The loop is not running: the client cannot reconnect before the peer is listening.
  broker.start();
  test::Observer peer(broker.port(), "out/#");
  REQUIRE(run_until(io, [&] { return peer.count() == 5 && client.stats().published == 6; }));
  CHECK(peer.payloads("out/queued") == Strings{"m1", "m2", "m3", "m4", "m5"});
  CHECK(connects == 2);
  const auto s = client.stats();
  CHECK(s.connected);
  CHECK(s.connects == 2);
  CHECK(s.queued == 0);
  CHECK(s.dropped == 0);

  peer.publish("cmd/y", "two");
  REQUIRE(run_until(io, [&] { return heard.size() == 2; }));
  CHECK(heard == Strings{"cmd/x=one", "cmd/y=two"});
  client.stop(2s);
}

TEST_CASE("a QoS 1 message the broker never acknowledged is sent again after the reconnection") {
  test::Broker broker;
  boost::asio::io_context io;
  mqtt::Client client(io, options(broker.port()));
  client.start();
  REQUIRE(run_until(io, [&] { return client.stats().connected; }));
  broker.freeze();
  client.publish("out/unacknowledged", "x", 1, false);
  run_for(io, 200ms);  // written, never acknowledged
  CHECK(client.stats().published == 0);
  CHECK(client.stats().queued == 0);  // libmosquitto's now
  broker.stop(SIGKILL);  // the kernel resets the connection
  REQUIRE(run_until(io, [&] { return !client.stats().connected; }));

  broker.start();
  test::Observer peer(broker.port(), "out/#");
  REQUIRE(run_until(io, [&] { return peer.count() == 1 && client.stats().published == 1; }));
  CHECK(peer.payloads("out/unacknowledged") == Strings{"x"});
  CHECK(client.stats().connects == 2);
  client.stop(2s);
}

TEST_CASE("the offline queue keeps the newest messages within its bound and counts the dropped") {
  test::Broker broker(false);  // not yet running
  boost::asio::io_context io;
  auto o = options(broker.port());
  o.queue_limit = 3;
  mqtt::Client client(io, o);
  client.publish("out/q", "m1", 1, false);  // before start(): queued as well
  client.start();
  run_for(io, 100ms);  // the first attempt fails; the next is a second away
  CHECK_FALSE(client.stats().connected);
  for (const char* p : {"m2", "m3", "m4", "m5"}) client.publish("out/q", p, 1, false);
  auto s = client.stats();
  CHECK(s.queued == 3);
  CHECK(s.dropped == 2);

  broker.start();
  test::Observer peer(broker.port(), "out/#");
  REQUIRE(run_until(io, [&] { return peer.count() == 3 && client.stats().published == 3; }));
  CHECK(peer.payloads("out/q") == Strings{"m3", "m4", "m5"});
  s = client.stats();
  CHECK(s.queued == 0);
  CHECK(s.dropped == 2);
  CHECK(s.connects == 1);
  client.stop(2s);
}

TEST_CASE("without a broker: stop returns at once, and a client can be destroyed without stop") {
  const uint16_t port = test::free_port();
  boost::asio::io_context io;
  mqtt::Client client(io, options(port));
  client.start();
  run_for(io, 100ms);
  client.publish("out/x", "lost", 1, false);
  CHECK(client.stats().queued == 1);
  const auto start = Clock::now();
  client.stop(60s);
  CHECK(Clock::now() - start < 30s);  // nothing to wait for: not the grace
  client.publish("out/x", "after stop", 1, false);
  CHECK(client.stats().dropped == 1);
  CHECK_FALSE(client.stats().connected);

  {
    mqtt::Client other(io, options(port));
    other.start();
    run_for(io, 50ms);
  }  // its retry timer is still pending: its handler must find nothing to touch
  run_for(io, 1500ms);
}

TEST_CASE("stop works after the loop has been stopped, as the daemon calls it") {
  test::Broker broker;
  test::Observer peer(broker.port(), "#");
  boost::asio::io_context io;
  mqtt::Client client(io, options(broker.port()));
  client.start();
  REQUIRE(run_until(io, [&] { return client.stats().connected; }));
  client.publish("out/last", "words", 1, false);
  io.stop();
  client.stop(2s);  // drives libmosquitto itself until "out/last" and "offline" are acknowledged
  CHECK(client.stats().published == 1);
  REQUIRE(test::eventually([&] { return peer.count() == 4; }));
  CHECK(peer.payloads("out/last") == Strings{"words"});
  CHECK(peer.payloads("dashctl/status") == Strings{"online", "offline"});
  CHECK(peer.payloads("dashctl/status/client") == Strings{"dashctl-test"});
}

TEST_CASE("a broker that accepts the connection but never answers is given up on after the keepalive") {
  // A listening socket that nobody serves: the kernel completes the handshake, no CONNACK comes.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  REQUIRE(listener >= 0);
  sockaddr_in a = test::loopback(0);
  socklen_t len = sizeof a;
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  REQUIRE(::listen(listener, 8) == 0);
  std::vector<int> accepted;
  auto accept_all = [&] {
    for (int fd; (fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0;)
      accepted.push_back(fd);
  };
  // Reads what the client sent (its CONNECT); true once it has closed its end.
  auto closed_by_client = [](int fd) {
    char buf[256];
    for (int i = 0; i < 100; ++i) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return n == 0;
    }
    return false;
  };

  boost::asio::io_context io;
  auto o = options(ntohs(a.sin_port));
  o.keepalive = 5s;  // libmosquitto's minimum
  mqtt::Client client(io, o);
  client.start();
  const auto start = Clock::now();
  // The first connection is abandoned after the keepalive, and a second one follows.
  const bool retried = run_until(
      io,
      [&] {
        accept_all();
        return accepted.size() >= 2 && closed_by_client(accepted[0]);
      },
      12s);
  const auto took = Clock::now() - start;
  for (int fd : accepted) ::close(fd);
  ::close(listener);
  REQUIRE(retried);
  CHECK(took >= 4s);  // libmosquitto counts the keepalive in whole seconds
  CHECK_FALSE(client.stats().connected);
  CHECK(client.stats().connects == 0);
  client.stop(1s);
}

TEST_CASE("a broker that refuses the credentials is retried; the right ones connect") {
  test::TempDir dir;
  const std::string passwords = dir / "passwords";
  // mosquitto_passwd hashes the password into a file the broker reads.
  REQUIRE(test::run_quietly({"/usr/bin/mosquitto_passwd", "-b", "-c", passwords, "dash", "secret"}) == 0);
  test::Broker broker(true, "allow_anonymous false\npassword_file " + passwords + "\n");
  boost::asio::io_context io;
  auto o = options(broker.port());
  o.username = "dash";
  o.password = "wrong";
  mqtt::Client refused(io, o);
  refused.start();
  run_for(io, 1500ms);  // two attempts
  CHECK_FALSE(refused.stats().connected);
  CHECK(refused.stats().connects == 0);
  refused.stop(1s);

  o.password = "secret";
  mqtt::Client client(io, o);
  client.start();
  REQUIRE(run_until(io, [&] { return client.stats().connected; }));
  client.stop(1s);
}

TEST_CASE("subscribe refuses an invalid filter") {
  boost::asio::io_context io;
  mqtt::Client client(io, options(1883));
  CHECK_THROWS_AS(client.subscribe("a/#/b", [](const std::string&, const std::string&) {}), util::Error);
}

TEST_CASE("the broker's name is looked up off the loop: everything else goes on, and what was published meanwhile "
          "goes out once it answers") {
  test::Broker broker;
  test::Observer peer(broker.port(), "out/#");
  boost::asio::io_context io;
  SlowResolver dns;
  mqtt::Client client(io, named(broker.port(), dns));
  client.start();
  REQUIRE(dns.asked == Strings{kBrokerName});

  // While the name server has not answered, the loop is the daemon's: a timer fires, a
  // message waits in the queue, and the client makes no second attempt of its own.
  bool fired = false;
  boost::asio::steady_timer timer(io, 10ms);
  timer.async_wait([&](const boost::system::error_code&) { fired = true; });
  REQUIRE(run_until(io, [&] { return fired; }));
  client.publish("out/a", "1", 1, false);
  run_for(io, 1500ms);  // past the housekeeping tick and the first back-off
  CHECK_FALSE(client.stats().connected);
  CHECK(client.stats().queued == 1);
  CHECK(dns.asked.size() == 1);

  dns.answer({{"127.0.0.1"}, {}});
  // Published: the peer has it, and the client the broker's acknowledgement.
  REQUIRE(run_until(io, [&] { return peer.payloads("out/a") == Strings{"1"} && client.stats().published == 1; }));
  CHECK(client.stats().connected);
  client.stop(1s);
}

TEST_CASE("every attempt looks the name up again: after a failed lookup, and after a lost connection") {
  test::Broker broker;
  boost::asio::io_context io;
  SlowResolver dns;
  mqtt::Client client(io, named(broker.port(), dns));
  client.start();
  dns.answer({{}, "Temporary failure in name resolution"});
  REQUIRE(run_until(io, [&] { return dns.waiting.size() == 1; }));  // retried after the back-off
  CHECK_FALSE(client.stats().connected);
  dns.answer({{"127.0.0.1"}, {}});
  REQUIRE(run_until(io, [&] { return client.stats().connected; }));

  // The broker restarts (it may have moved): the reconnection asks again.
  broker.stop();
  broker.start();
  REQUIRE(run_until(io, [&] { return dns.waiting.size() == 1; }));
  dns.answer({{"127.0.0.1"}, {}});
  REQUIRE(run_until(io, [&] { return client.stats().connects == 2; }));
  CHECK(dns.asked == Strings{kBrokerName, kBrokerName, kBrokerName});
  client.stop(1s);
}

TEST_CASE("an attempt that fails takes the next of the name's addresses") {
  test::Broker broker;  // on 127.0.0.1 only: 127.0.0.2 refuses the connection
  boost::asio::io_context io;
  int lookups = 0;
  auto o = options(broker.port());
  o.host = kBrokerName;
  o.resolve = [&](const std::string&, std::function<void(mqtt::Resolved)> done) {
    ++lookups;
    done({{"127.0.0.2", "127.0.0.1"}, {}});
  };
  mqtt::Client client(io, o);
  client.start();
  REQUIRE(run_until(io, [&] { return client.stats().connected; }));
  CHECK(lookups == 2);
  client.stop(1s);
}

TEST_CASE("mqtts: the broker's certificate must name the host, whatever address the name resolved to") {
  test::TempDir dir;
  const auto right = test::make_certificate(dir, "localhost");  // no address in it
  const auto wrong = test::make_certificate(dir, "elsewhere.example");
  const std::string trusted = dir / "trusted.pem";
  std::ofstream(trusted) << std::ifstream(right.cert).rdbuf() << std::ifstream(wrong.cert).rdbuf();
  TrustedCertificates trust(trusted);
  // Connected by address, the certificate for the name is accepted; a trusted certificate for
  // another name is refused.
  CHECK(tls_connects(right));
  CHECK_FALSE(tls_connects(wrong));

  // A client with TLS that never connected leaves nothing behind (LeakSanitizer would say).
  boost::asio::io_context io;
  auto o = options(1);
  o.tls = true;
  mqtt::Client idle(io, o);
}
