// SPDX-License-Identifier: GPL-2.0-or-later
#include "actions/actions.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <memory>
#include <optional>
#include <utility>

#include "util/duration.h"

#ifndef DASHCTL_VERSION
#define DASHCTL_VERSION "0"
#endif

namespace dashctl::actions {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxBody = 64 * 1024;

/// What the exchange needs from a rendered URL.
struct Url {
  bool https = false;
  std::string host;
  uint16_t port = 80;
  std::string target = "/";
};

/// Parses http(s)://host[:port][/path][?query] (the fragment is dropped); returns why not.
std::optional<std::string> parse_url(std::string_view text, Url& url) {
  std::string_view rest;
  if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else if (text.starts_with("https://")) {
    url.https = true;
    url.port = 443;
    rest = text.substr(8);
  } else {
    return "must start with http:// or https://";
  }
  rest = rest.substr(0, rest.find('#'));
  const size_t path_at = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_at);
  const std::string_view target = path_at == std::string_view::npos ? "" : rest.substr(path_at);
  if (authority.find('@') != std::string_view::npos)
    return "user@host is not supported (an Authorization header is)";
  if (authority.starts_with('[')) return "IPv6 address literals are not supported";
  if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    const auto digits = authority.substr(colon + 1);
    unsigned port = 0;
    const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || err != std::errc() || end != digits.data() + digits.size() || port == 0 ||
        port > 65535)
      return "bad port '" + std::string(digits) + "'";
    url.port = static_cast<uint16_t>(port);
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) return "no host";
  url.host = authority;
  if (target.empty()) {
    url.target = "/";
  } else {
    url.target = target.front() == '?' ? "/" + std::string(target) : std::string(target);
  }
  return std::nullopt;
}

bool is_ipv4_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address_v4(host, ec);
  return !ec;
}

/// Runs `done` on the loop with a failure found before anything was sent.
void fail_soon(asio::io_context& io, Done done, std::string why) {
  asio::post(io, [done = std::move(done), why = std::move(why)] {
    try {
      done(Outcome{false, why, {}});
    } catch (const std::exception& e) {
      spdlog::error("webhook: after the action: {}", e.what());
    }
  });
}

/// One request and its response, from resolving the host to the status line. Its
/// handlers hold it alive; one timer bounds the whole exchange.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  /// With `tls_context` (https) or without (http).
  Exchange(asio::io_context& io, Url url, http::request<http::string_body> request,
           std::unique_ptr<ssl::context> tls_context, std::chrono::milliseconds timeout, Done done)
      : url_(std::move(url)),
        request_(std::move(request)),
        timeout_(timeout),
        done_(std::move(done)),
        started_(Clock::now()),
        resolver_(io),
        deadline_(io),
        plain_(io),
        tls_context_(std::move(tls_context)) {
    if (tls_context_) {
      tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io, *tls_context_);
      SSL* handle = tls_->native_handle();
      // The certificate must name the host (OpenSSL checks it during the handshake, and
      // says "hostname mismatch"); SNI carries names only, never addresses (RFC 6066).
      if (is_ipv4_literal(url_.host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), url_.host.c_str());
      } else {
        SSL_set1_host(handle, url_.host.c_str());
        // SSL_set_tlsext_host_name, whose macro casts the old way.
        SSL_ctrl(handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(url_.host.c_str()));
      }
    }
    parser_.body_limit(kMaxBody);
  }

  void start() {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](const beast::error_code& ec) {
      if (!ec) self->on_deadline();
    });
    resolver_.async_resolve(
        url_.host, std::to_string(url_.port), tcp::resolver::numeric_service,
        [self = shared_from_this()](const beast::error_code& ec, tcp::resolver::results_type r) {
          self->on_resolve(ec, r);
        });
  }

 private:
  beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : plain_; }

  void on_deadline() {
    if (finished_) return;
    timed_out_ = true;
    // Ends whichever step is pending; its handler reports the timeout.
    resolver_.cancel();
    tcp().close();
  }

  void on_resolve(const beast::error_code& ec, const tcp::resolver::results_type& results) {
    if (ec || timed_out_) return fail("resolve", ec);
    tcp().async_connect(results, [self = shared_from_this()](const beast::error_code& e,
                                                             const tcp::endpoint&) { self->on_connect(e); });
  }

  void on_connect(const beast::error_code& ec) {
    if (ec || timed_out_) return fail("connect", ec);
    if (!tls_) return send();
    tls_->async_handshake(ssl::stream_base::client, [self = shared_from_this()](const beast::error_code& e) {
      if (e || self->timed_out_) return self->fail("TLS handshake", e);
      self->send();
    });
  }

  void send() {
    auto sent = [self = shared_from_this()](const beast::error_code& ec, size_t) {
      if (ec || self->timed_out_) return self->fail("send", ec);
      self->receive();
    };
    if (tls_) {
      http::async_write(*tls_, request_, std::move(sent));
    } else {
      http::async_write(plain_, request_, std::move(sent));
    }
  }

  void receive() {
    auto received = [self = shared_from_this()](const beast::error_code& ec, size_t) {
      self->on_response(ec);
    };
    if (tls_) {
      http::async_read(*tls_, buffer_, parser_, std::move(received));
    } else {
      http::async_read(plain_, buffer_, parser_, std::move(received));
    }
  }

  void on_response(const beast::error_code& ec) {
    // Once the status line is in, it is the answer, whatever becomes of the body (too
    // long, cut short).
    if (parser_.is_header_done()) {
      const unsigned status = parser_.get().result_int();
      return finish(status >= 200 && status < 300, "HTTP " + std::to_string(status));
    }
    fail("receive", ec);
  }

  void fail(std::string_view step, const beast::error_code& ec) {
    if (timed_out_) return finish(false, "timed out after " + util::format_duration(timeout_));
    finish(false, std::string(step) + ": " + describe(ec));
  }

  /// An error's text; for TLS, OpenSSL's reason and why the certificate was refused.
  std::string describe(const beast::error_code& ec) {
    if (ec.category() != asio::error::get_ssl_category()) return ec.message();
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    std::string text = reason ? reason : ec.message();
    if (tls_) {
      const long verify = SSL_get_verify_result(tls_->native_handle());
      if (verify != X509_V_OK) text += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    }
    return text;
  }

  void finish(bool ok, std::string summary) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    resolver_.cancel();
    tcp().close();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_);
    Done done = std::move(done_);
    // An Asio handler lets no exception escape.
    try {
      done(Outcome{ok, std::move(summary), took});
    } catch (const std::exception& e) {
      spdlog::error("webhook: after the action: {}", e.what());
    }
  }

  Url url_;
  http::request<http::string_body> request_;
  std::chrono::milliseconds timeout_;
  Done done_;
  Clock::time_point started_;
  tcp::resolver resolver_;
  asio::steady_timer deadline_;
  beast::tcp_stream plain_;  ///< http
  std::unique_ptr<ssl::context> tls_context_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;  ///< https
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  bool timed_out_ = false, finished_ = false;
};

}  // namespace

void run_webhook(asio::io_context& io, const config::WebhookAction& a, const press::Press& p, Done done) {
  Url url;
  if (const auto why = parse_url(render(a.url, p), url))
    return fail_soon(io, std::move(done), "url: " + *why);

  http::request<http::string_body> req;
  if (const auto verb = http::string_to_verb(a.method); verb != http::verb::unknown) {
    req.method(verb);
  } else {
    req.method_string(a.method);
  }
  req.target(url.target);
  req.version(11);
  const bool default_port = url.port == (url.https ? 443 : 80);
  req.set(http::field::host, default_port ? url.host : url.host + ":" + std::to_string(url.port));
  req.set(http::field::user_agent, "dashctl/" DASHCTL_VERSION);
  bool has_content_type = false;
  for (const auto& [name, value] : a.headers) {
    std::string rendered = render(value, p);
    // A value could only gain a line break from a placeholder; it must not forge headers.
    if (rendered.find_first_of("\r\n") != std::string::npos)
      return fail_soon(io, std::move(done), "header " + name + ": a line break in its value");
    has_content_type = has_content_type || beast::iequals(name, "Content-Type");
    req.set(name, rendered);  // replaces dashctl's own Host or User-Agent
  }
  req.body() = render(a.body, p);
  if (!has_content_type && (req.body().starts_with('{') || req.body().starts_with('[')))
    req.set(http::field::content_type, "application/json");
  req.prepare_payload();

  std::unique_ptr<ssl::context> tls_context;
  if (url.https) {
    try {
      tls_context = std::make_unique<ssl::context>(ssl::context::tls_client);
      tls_context->set_verify_mode(ssl::verify_peer);
      // The system's CAs; OpenSSL also honours SSL_CERT_FILE and SSL_CERT_DIR.
      tls_context->set_default_verify_paths();
    } catch (const std::exception& ex) {
      return fail_soon(io, std::move(done), std::string("TLS setup: ") + ex.what());
    }
  }
  std::make_shared<Exchange>(io, std::move(url), std::move(req), std::move(tls_context), a.timeout,
                             std::move(done))
      ->start();
}

}  // namespace dashctl::actions
