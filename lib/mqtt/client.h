// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// An MQTT client on the daemon's one event loop: libmosquitto driven by Boost.Asio (its
// socket watched for reads, and for writes while it wants to write; its housekeeping once
// a second), reconnecting with back-off, with a last will and an availability topic, and a
// bounded queue for what is published while the broker is away.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mqtt/topics.h"

namespace boost::asio {
class io_context;
}

namespace dashctl::mqtt {

/// What a host name lookup found: addresses (numeric, in the order to try them), or why none.
struct Resolved {
  std::vector<std::string> addresses;
  std::string error;  ///< the lookup failed: why
};

/// Looks `host` up without blocking the event loop, and calls `done` on the loop once.
using Resolve = std::function<void(const std::string& host, std::function<void(Resolved)> done)>;

struct Options {
  std::string host = "localhost";
  uint16_t port = 1883;
  /// mqtts: verify the broker's certificate against the system's CAs, and that it is
  /// `host`'s (by name, or by address for an address), whatever address `host` resolved to
  bool tls = false;
  std::string client_id;
  std::string username, password;
  std::chrono::seconds keepalive{30};
  /// "online" (retained) once connected, after the client id to `<availability_topic>/client`
  /// (retained); "offline" as the will, and on stop() unless another client came online
  /// since; "online" again when another client says "offline" while this one runs.
  std::string availability_topic;
  size_t queue_limit = 1000;       ///< messages held while not connected; beyond it the oldest are dropped
  /// How the broker's host name is looked up before every connection attempt; empty: Boost.Asio's
  /// resolver (getaddrinfo on a thread of Asio's own). Tests give a fake.
  Resolve resolve;
};

struct Stats {
  bool connected = false;
  uint64_t published = 0;  ///< publish() messages handed to the broker (QoS>0: acknowledged); not availability
  uint64_t queued = 0;     ///< waiting now
  uint64_t dropped = 0;    ///< lost to the queue limit
  uint64_t connects = 0;
  /// Another client said it is online on the availability topic since this one did (its id
  /// in `<availability_topic>/client`): this one then says no "offline" when it stops.
  bool online_elsewhere = false;
};

using MessageHandler = std::function<void(const std::string& topic, const std::string& payload)>;

class Client final : public Publisher {
 public:
  Client(boost::asio::io_context& io, Options options);
  ~Client() override;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Starts connecting; never blocks. Every attempt looks the broker's host name up again,
  /// off the loop, and connects to the address it found. Failures (of the lookup too) are
  /// logged and retried with back-off (1 s doubling to 60 s); an attempt after a failure
  /// takes the next of the host's addresses.
  void start();

  /// Publishes now if connected, else queues (bounded: overflow drops the oldest, counted
  /// and logged). Nothing is lost within the bound: queued messages go out, in order, on
  /// the next connection.
  void publish(const std::string& topic, const std::string& payload, int qos, bool retain);
  void publish(const Message& m) override { publish(m.topic, m.payload, m.qos, m.retain); }

  /// Subscribes now and again on every reconnection; `handler` runs on the event loop.
  void subscribe(const std::string& topic, MessageHandler handler);

  /// Called on the event loop after every (re)connection, after the subscriptions.
  void on_connect(std::function<void()> handler);

  /// Publishes "offline" to the availability topic, waits up to `grace` for what is in
  /// flight, and disconnects. The client can be destroyed afterwards.
  void stop(std::chrono::milliseconds grace);

  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dashctl::mqtt
