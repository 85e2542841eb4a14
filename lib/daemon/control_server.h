// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// The control socket, the daemon's side: `dashctl status` and `dashctl learn` ask here
// (protocol.h has the requests and answers; control.h the client side).

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "daemon/protocol.h"
#include "daemon/socket_file.h"

namespace dashctl::daemon {

class ControlServer {
 public:
  /// The answer to a request, without the '\n' (ping, status, reload, battery or unknown),
  /// given what parse_request() read (its first line is the request).
  using Handler = std::function<std::string(Request, std::string_view received)>;

  /// At most this many clients at once; more are answered "busy" (kAnswerBusy) at once. Each
  /// has 1 s to send its request and take its answer.
  static constexpr size_t kMaxClients = 16;

  /// Creates the socket's directory when missing (0755), refuses a socket another daemon
  /// answers on (Exit::unavailable), replaces one a dead daemon left, and listens, owner
  /// and group only: status is for the admins. Throws util::Error.
  ControlServer(boost::asio::io_context& io, std::string path, Handler handler);
  /// Removes the socket file.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  /// No new clients; the file stays until the object goes.
  void stop();
  const std::string& path() const { return path_; }
  /// Clients answered "busy".
  uint64_t refused() const { return refused_; }

 private:
  void refuse(boost::asio::local::stream_protocol::socket socket);
  struct Client;
  void accept();
  void serve(boost::asio::local::stream_protocol::socket socket);
  void read(const std::shared_ptr<Client>& c);

  boost::asio::io_context& io_;
  std::string path_;
  Handler handler_;
  BoundSocketFile file_;
  std::optional<boost::asio::local::stream_protocol::acceptor> acceptor_;
  size_t clients_ = 0;
  uint64_t refused_ = 0;
};

}  // namespace dashctl::daemon
