// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/tls_endpoint.h"

#include <array>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "util/child.h"
#include "util/error.h"

namespace dashctl::daemon {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using util::Error;
using util::Exit;

constexpr const char* kRemakeHint = "remove both: the daemon makes new ones when it starts";

struct TlsEndpoint::Impl {
  explicit Impl(ssl::context c) : context(std::move(c)) {}
  ssl::context context;
};

/// One connection: the handshake, then what the client sends, each under a deadline.
struct TlsEndpoint::Session : std::enable_shared_from_this<Session> {
  Session(TlsEndpoint& e, tcp::socket s, util::Ipv4 p)
      : endpoint(e), stream(std::move(s), e.impl_->context), deadline(e.io_), peer(p) {}

  void start() {
    auto self = shared_from_this();
    arm(endpoint.limits_.timeout);
    stream.async_handshake(ssl::stream_base::server, [self](boost::system::error_code ec) { self->handshaken(ec); });
  }

  void arm(std::chrono::milliseconds after) {
    deadline.expires_after(after);
    deadline.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      self->timed_out = true;
      boost::system::error_code e;
      self->stream.lowest_layer().close(e);
    });
  }

  void handshaken(boost::system::error_code ec) {
    if (ec) {
      // An alert from the client arrives as an SSL error whose reason is the alert's number
      // plus SSL_AD_REASON_OFFSET; a client that closes without one, as end of file.
      const bool alert = ec.category() == asio::error::get_ssl_category() &&
                         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) >= SSL_AD_REASON_OFFSET;
      const bool closed = ec == asio::error::eof || ec == ssl::error::stream_truncated ||
                          ec == asio::error::connection_reset;
      if (!timed_out && (alert || closed)) {
        ++endpoint.counters_.alerts;
        spdlog::debug("tls {}: the client ended the handshake: {}", peer.str(), ec.message());
      } else {
        ++endpoint.counters_.failed;
        spdlog::debug("tls {}: handshake failed: {}", peer.str(), timed_out ? "timed out" : ec.message());
      }
      return finish();
    }
    ++endpoint.counters_.handshakes;
    spdlog::debug("tls {}: handshake completed ({}, {})", peer.str(), SSL_get_version(stream.native_handle()),
                  SSL_get_cipher_name(stream.native_handle()));
    deadline.cancel();
    arm(endpoint.limits_.linger);
    read();
  }

  void read() {
    stream.async_read_some(asio::buffer(buf), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
      self->received += n;
      if (!ec && self->received < 64 * 1024) return self->read();
      spdlog::debug("tls {}: {} bytes after the handshake", self->peer.str(), self->received);
      self->finish();
    });
  }

  void finish() {
    deadline.cancel();
    boost::system::error_code e;
    stream.lowest_layer().close(e);
    --endpoint.running_;
  }

  TlsEndpoint& endpoint;
  ssl::stream<tcp::socket> stream;
  asio::steady_timer deadline;
  util::Ipv4 peer;
  std::array<char, 2048> buf{};
  size_t received = 0;
  bool timed_out = false;
};

namespace {

/// The server context: the key and certificate (PEM files), the protocols and ciphers old
/// embedded stacks need. Throws util::Error (Exit::data) when they cannot be used.
ssl::context make_context(const std::string& key_file, const std::string& cert_file) {
  try {
    ssl::context c(ssl::context::tls_server);
    SSL_CTX* ctx = c.native_handle();
    // Old embedded stacks: TLS 1.0 and RSA key exchange must be on offer, which OpenSSL 3
    // allows only at security level 0. Nothing secret crosses this endpoint.
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    if (SSL_CTX_set_cipher_list(ctx, "ALL:!aNULL:!eNULL:@SECLEVEL=0") != 1)
      throw Error(Exit::software, "the TLS endpoint's ciphers were refused");
    SSL_CTX_set_dh_auto(ctx, 1);
    // No sessions to resume: nothing grows with the connections served.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_num_tickets(ctx, 0);
    c.use_certificate_chain_file(cert_file);
    c.use_private_key_file(key_file, ssl::context::pem);
    return c;
  } catch (const boost::system::system_error& e) {
    throw Error(Exit::data, "the TLS key " + key_file + " or certificate " + cert_file + ": " + e.code().message(),
                kRemakeHint);
  }
}

/// make_context in a child process: the same check, but OpenSSL's initialisation, its
/// providers' tables and the key's decoders (3 MB of pages, nearly all libcrypto's) land in
/// the child, not in the daemon, which makes its context at the first button's connection.
/// Throws what make_context throws. Without a child (fork failed) it checks in this process.
void check_in_child(const std::string& key_file, const std::string& cert_file) {
  const auto r = util::run_in_child([&] {
    make_context(key_file, cert_file);
    return 0;
  });
  if (!r) return void(make_context(key_file, cert_file));
  if (r->code == 0) return;
  throw Error(Exit::data,
              r->what.empty() ? "checking the TLS key " + key_file + " and certificate " + cert_file + " failed" : r->what,
              kRemakeHint);
}

}  // namespace

TlsEndpoint::TlsEndpoint(asio::io_context& io, const std::string& key_file, const std::string& cert_file,
                         Limits limits)
    : io_(io), key_file_(key_file), cert_file_(cert_file), limits_(limits) {
  check_in_child(key_file, cert_file);
}

bool TlsEndpoint::ready() {
  if (impl_) return true;
  if (broken_) return false;
  try {
    impl_ = std::make_unique<Impl>(make_context(key_file_, cert_file_));
    return true;
  } catch (const Error& e) {
    broken_ = true;  // said once; the connections go on as without TLS
    spdlog::error("tls endpoint off: {}", e.what());
    return false;
  }
}

TlsEndpoint::~TlsEndpoint() = default;

bool HandshakeCap::allow(util::Ipv4 peer, Clock::time_point now, size_t running, size_t max_at_once,
                         unsigned per_window, std::chrono::milliseconds window) {
  if (running >= max_at_once) return false;
  auto& times = recent_[peer];
  while (!times.empty() && now - times.front() >= window) times.pop_front();
  if (times.size() >= per_window) return false;
  times.push_back(now);
  if (recent_.size() > kSweepAt)
    std::erase_if(recent_, [&](const auto& kv) { return kv.second.empty() || now - kv.second.back() >= window; });
  return true;
}

bool TlsEndpoint::take(util::Fd& fd, util::Ipv4 peer) {
  if (!ready()) return false;
  if (!cap_.allow(peer, std::chrono::steady_clock::now(), running_, limits_.max_handshakes, limits_.per_window,
                  limits_.window)) {
    ++counters_.capped;
    return false;
  }
  boost::system::error_code ec;
  tcp::socket socket(io_);
  socket.assign(tcp::v4(), fd.get(), ec);
  if (ec) {
    spdlog::warn("tls: taking a connection: {}", ec.message());
    return false;
  }
  fd.release();
  ++running_;
  std::make_shared<Session>(*this, std::move(socket), peer)->start();
  return true;
}

}  // namespace dashctl::daemon
