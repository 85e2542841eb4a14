// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once
// An HTTP or HTTPS server on 127.0.0.1 for one test, on the test's own event loop: it
// records each request and answers with a chosen status, or never answers.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dashctl::test {

class HttpServer {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  struct Options {
    unsigned status = 200;
    std::string body = "ok\n";
    bool silent = false;                       ///< reads the request and never answers
    boost::asio::ssl::context* tls = nullptr;  ///< https with this certificate
  };

  HttpServer(boost::asio::io_context& io, Options options)
      : options_(std::move(options)), acceptor_(io, {boost::asio::ip::make_address_v4("127.0.0.1"), 0}) {
    accept();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  std::vector<Request> requests;  ///< as received
  int handshake_failures = 0;     ///< TLS handshakes the client broke off

 private:
  template <typename Stream>
  struct Session : std::enable_shared_from_this<Session<Stream>> {
    template <typename... Args>
    explicit Session(HttpServer& s, Args&&... args) : server(s), stream(std::forward<Args>(args)...) {}

    void handshake() {
      stream.async_handshake(boost::asio::ssl::stream_base::server,
                             [self = this->shared_from_this()](const boost::beast::error_code& ec) {
                               if (ec) {
                                 ++self->server.handshake_failures;
                                 return;
                               }
                               self->read();
                             });
    }

    void read() {
      boost::beast::http::async_read(
          stream, buffer, request,
          [self = this->shared_from_this()](const boost::beast::error_code& ec, size_t) {
            if (ec) return;
            self->server.requests.push_back(self->request);
            if (self->server.options_.silent) {
              self->server.held_.push_back(self);  // open, and silent, until the server goes
              return;
            }
            self->respond();
          });
    }

    void respond() {
      response.result(server.options_.status);
      response.version(11);
      response.set(boost::beast::http::field::content_type, "text/plain");
      // 204 and 304 carry no body.
      if (server.options_.status != 204 && server.options_.status != 304)
        response.body() = server.options_.body;
      response.keep_alive(false);
      response.prepare_payload();
      boost::beast::http::async_write(
          stream, response, [self = this->shared_from_this()](const boost::beast::error_code&, size_t) {
            boost::beast::get_lowest_layer(self->stream).close();
          });
    }

    HttpServer& server;
    Stream stream;
    boost::beast::flat_buffer buffer;
    Request request;
    boost::beast::http::response<boost::beast::http::string_body> response;
  };

  void accept() {
    acceptor_.async_accept([this](const boost::beast::error_code& ec, boost::asio::ip::tcp::socket socket) {
      if (ec) return;
      if (options_.tls) {
        using Tls = boost::beast::ssl_stream<boost::beast::tcp_stream>;
        std::make_shared<Session<Tls>>(*this, std::move(socket), *options_.tls)->handshake();
      } else {
        std::make_shared<Session<boost::beast::tcp_stream>>(*this, std::move(socket))->read();
      }
      accept();
    });
  }

  Options options_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<void>> held_;
};

}  // namespace dashctl::test
