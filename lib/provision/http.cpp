// SPDX-License-Identifier: GPL-2.0-or-later
#include "provision/http.h"

#include <net/if.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "provision/device.h"
#include "util/duration.h"
#include "util/error.h"

namespace dashctl::provision {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using util::Error;
using util::Exit;

/// One connection to the button, driven step by step: each step runs the io_context until
/// its handler (or the stream's own timeout) ends it.
class Connection {
 public:
  explicit Connection(const Endpoint& e) : e_(e) {}

  /// Connects, throwing Exit::unavailable with what happened.
  void open() {
    beast::error_code ec;
    const auto address = asio::ip::make_address_v4(e_.address, ec);
    if (ec) throw Error(Exit::usage, "'" + e_.address + "' is not an IPv4 address");
    stream_.socket().open(tcp::v4(), ec);
    if (ec) throw Error(Exit::os, "opening a socket: " + ec.message());
    if (!e_.interface.empty()) {
      const auto& name = e_.interface;
      if (::setsockopt(stream_.socket().native_handle(), SOL_SOCKET, SO_BINDTODEVICE, name.c_str(),
                       static_cast<socklen_t>(name.size())) != 0)
        util::throw_system("binding the connection to interface " + name, errno, Exit::unavailable);
    }
    stream_.expires_after(e_.timeout);
    ec = step([&](auto done) { stream_.async_connect(tcp::endpoint(address, e_.port), done); });
    if (ec == beast::error::timeout) throw Error(Exit::unavailable, "no answer in " + util::format_duration(e_.timeout));
    if (ec) throw Error(Exit::unavailable, ec.message());
  }

  beast::error_code send(const std::string& target, bool want_json) {
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, e_.address);
    req.set(http::field::user_agent, "dashctl/" DASHCTL_VERSION);
    req.set(http::field::connection, "close");
    if (want_json) {
      req.set(http::field::content_type, "application/json");
      req.set(http::field::accept, "application/json");
    }
    stream_.expires_after(e_.timeout);
    return step([&](auto done) { http::async_write(stream_, req, done); });
  }

  /// Reads the answer within `wait`; `ec` says why not.
  std::optional<Response> receive(std::chrono::milliseconds wait, beast::error_code& ec) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxPage);
    parser.header_limit(16 * 1024);
    beast::flat_buffer buffer;
    stream_.expires_after(wait);
    ec = step([&](auto done) { http::async_read(stream_, buffer, parser, done); });
    if (ec) return std::nullopt;
    Response r;
    r.status = parser.get().result_int();
    r.content_type = std::string(parser.get()[http::field::content_type]);
    r.body = std::move(parser.get().body());
    return r;
  }

 private:
  template <typename Start>
  beast::error_code step(Start&& start) {
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  const Endpoint& e_;
  asio::io_context ioc_;
  beast::tcp_stream stream_{ioc_};
};

bool dropped(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::connection_aborted || ec == beast::error::timeout || ec == http::error::partial_message;
}

}  // namespace

Response get(const Endpoint& e, const std::string& target, bool want_json) {
  Connection c(e);
  c.open();
  if (const auto ec = c.send(target, want_json)) throw Error(Exit::unavailable, "sending the request: " + ec.message());
  beast::error_code ec;
  auto r = c.receive(e.timeout, ec);
  if (r) return std::move(*r);
  if (ec == beast::error::timeout)
    throw Error(Exit::unavailable, "it took the request but sent no answer in " + util::format_duration(e.timeout));
  if (ec == http::error::body_limit)
    throw Error(Exit::protocol, "its page is larger than " + std::to_string(kMaxPage / 1024) + " KiB");
  if (dropped(ec)) throw Error(Exit::unavailable, "it closed the connection without an answer");
  throw Error(Exit::protocol, "its answer is not HTTP (" + ec.message() + ")");
}

Delivery deliver(const Endpoint& e, const std::string& target, std::chrono::milliseconds wait) {
  Connection c(e);
  c.open();
  if (const auto ec = c.send(target, false)) {
    if (!dropped(ec)) throw Error(Exit::unavailable, "sending the request: " + ec.message());
    // A connection closed while the request went out: it may have arrived, as when the
    // button leaves setup mode while it answers.
    return {false, 0, "closed the connection as the request went out"};
  }
  beast::error_code ec;
  if (const auto r = c.receive(wait, ec)) return {true, r->status, {}};
  if (ec == beast::error::timeout) return {false, 0, "went silent"};
  if (ec == asio::error::connection_reset) return {false, 0, "reset the connection"};
  if (dropped(ec)) return {false, 0, "closed the connection"};
  return {false, 0, "answered something that is not HTTP (" + ec.message() + ")"};
}

}  // namespace dashctl::provision
