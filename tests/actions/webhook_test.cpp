// SPDX-License-Identifier: GPL-2.0-or-later
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include "support/catch.h"
#include <filesystem>
#include <memory>
#include <thread>

#include "actions/actions.h"
#include "actions/http_server.h"
#include "actions/support.h"
#include "support/tmpdir.h"

extern char** environ;

using namespace dashctl;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using Catch::Matchers::StartsWith;
using test::HttpServer;

namespace {

struct Result {
  int calls = 0;
  actions::Outcome outcome;
};

/// Runs one webhook to its end on `io`, where the test's server runs too.
Result call(asio::io_context& io, const config::WebhookAction& a, std::chrono::milliseconds limit = 10s) {
  auto r = std::make_shared<Result>();
  actions::run_webhook(io, a, test::press_event(), [r](const actions::Outcome& o) {
    ++r->calls;
    r->outcome = o;
  });
  CHECK(r->calls == 0);  // `done` runs on the loop, never inside run_webhook
  test::run_until(
      io, [&] { return r->calls > 0; }, limit);
  io.run_for(50ms);  // where a second call would show
  CHECK(r->calls == 1);
  return *r;
}

config::WebhookAction hook(const std::string& url) {
  config::WebhookAction a;
  a.url = url;
  return a;
}

std::string local(const HttpServer& server, const std::string& scheme = "http") {
  return scheme + "://127.0.0.1:" + std::to_string(server.port());
}

/// Runs a program to its end (bounded), its output discarded; returns its wait status.
int run_quietly(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  ::posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int err = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  REQUIRE(err == 0);
  int status = 0;
  for (int i = 0; i < 6000; ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  FAIL(argv[0] << " did not finish within 60 s");
  return -1;
}

/// A self-signed certificate (its own CA) for `cn`, and its key, made by openssl(1).
struct Certificate {
  std::string cert, key;
};

Certificate make_certificate(const test::TempDir& dir, const std::string& cn, const std::string& san) {
  Certificate c{dir / (cn + ".pem"), dir / (cn + ".key")};
  const int status =
      run_quietly({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn,
                   "-days", "1", "-addext", "subjectAltName=" + san, "-keyout", c.key, "-out", c.cert});
  REQUIRE(status == 0);
  return c;
}

std::unique_ptr<asio::ssl::context> server_context(const Certificate& c) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->use_certificate_chain_file(c.cert);
  ctx->use_private_key_file(c.key, asio::ssl::context::pem);
  return ctx;
}

}  // namespace

TEST_CASE("webhook: the rendered request is sent and 2xx is success") {
  asio::io_context io;
  HttpServer server(io, {});
  auto a = hook(local(server) + "/hook/{button}?n={count}#not-sent");
  a.method = "POST";
  a.headers = {{"X-Button", "{button}"}, {"Authorization", "Bearer secret"}};
  a.body = R"({"button":"{button}","mac":"{mac}","ip":"{ip}","source":"{source}"})";
  const auto r = call(io, a);
  CHECK(r.outcome.ok);
  CHECK(r.outcome.summary == "HTTP 200");
  REQUIRE(server.requests.size() == 1);
  const auto& q = server.requests[0];
  CHECK(q.method() == http::verb::post);
  CHECK(std::string(q.target()) == "/hook/bedroom?n=42");
  CHECK(q.version() == 11);
  CHECK(std::string(q[http::field::host]) == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(std::string(q[http::field::user_agent]) == "dashctl/" DASHCTL_VERSION);
  CHECK(std::string(q["X-Button"]) == "bedroom");
  CHECK(std::string(q[http::field::authorization]) == "Bearer secret");
  CHECK(std::string(q[http::field::content_type]) == "application/json");
  CHECK(q.body() == R"({"button":"bedroom","mac":"68:54:fd:12:34:56","ip":"10.77.0.201","source":"dhcp"})");
  CHECK(std::string(q[http::field::content_length]) == std::to_string(q.body().size()));
}

TEST_CASE("webhook: the method and the body decide the content type") {
  asio::io_context io;
  HttpServer server(io, {});
  SECTION("GET without a path or a body") {
    auto a = hook(local(server));
    a.method = "GET";
    CHECK(call(io, a).outcome.ok);
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].method() == http::verb::get);
    CHECK(std::string(server.requests[0].target()) == "/");
    CHECK(server.requests[0].count(http::field::content_type) == 0);
    CHECK(server.requests[0].body().empty());
  }
  SECTION("a body that is not JSON gets no content type") {
    auto a = hook(local(server) + "?x=1");
    a.method = "PUT";
    a.body = "pressed {button}";
    CHECK(call(io, a).outcome.ok);
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].method() == http::verb::put);
    CHECK(std::string(server.requests[0].target()) == "/?x=1");
    CHECK(server.requests[0].count(http::field::content_type) == 0);
    CHECK(server.requests[0].body() == "pressed bedroom");
  }
  SECTION("the config's content type wins") {
    auto a = hook(local(server) + "/x");
    a.headers = {{"content-type", "text/plain"}};
    a.body = "[1]";
    CHECK(call(io, a).outcome.ok);
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].count(http::field::content_type) == 1);
    CHECK(std::string(server.requests[0][http::field::content_type]) == "text/plain");
  }
}

TEST_CASE("webhook: a status outside 2xx is a failure") {
  for (const unsigned status : {500u, 404u, 302u, 204u, 299u}) {
    asio::io_context io;
    HttpServer server(io, {.status = status});
    const auto r = call(io, hook(local(server) + "/"));
    CHECK(r.outcome.ok == (status / 100 == 2));
    CHECK(r.outcome.summary == "HTTP " + std::to_string(status));
  }
}

TEST_CASE("webhook: a long response body is not read to its end") {
  asio::io_context io;
  HttpServer server(io, {.body = std::string(1 << 20, 'x')});
  const auto r = call(io, hook(local(server) + "/"));
  CHECK(r.outcome.ok);
  CHECK(r.outcome.summary == "HTTP 200");
}

TEST_CASE("webhook: connection refused") {
  asio::io_context io;
  // Bound and not listening: the port is ours, and a connection to it is refused.
  asio::ip::tcp::socket closed(io);
  closed.open(asio::ip::tcp::v4());
  closed.bind({asio::ip::make_address_v4("127.0.0.1"), 0});
  const auto r = call(io, hook("http://127.0.0.1:" + std::to_string(closed.local_endpoint().port()) + "/"));
  CHECK_FALSE(r.outcome.ok);
  CHECK(r.outcome.summary == "connect: Connection refused");
}

TEST_CASE("webhook: the timeout bounds the whole exchange") {
  asio::io_context io;
  HttpServer server(io, {.silent = true});
  auto a = hook(local(server) + "/slow");
  a.timeout = 300ms;
  const auto r = call(io, a);
  CHECK_FALSE(r.outcome.ok);
  CHECK(r.outcome.summary == "timed out after 300ms");
  CHECK(r.outcome.took >= 300ms);  // and call()'s own bound, 10 s, the upper one
  CHECK(server.requests.size() == 1);  // it was waiting for the answer
}

TEST_CASE("webhook: a URL it cannot use is a failed outcome") {
  asio::io_context io;
  CHECK(call(io, hook("ftp://127.0.0.1/")).outcome.summary == "url: must start with http:// or https://");
  CHECK(call(io, hook("http://127.0.0.1:99999/")).outcome.summary == "url: bad port '99999'");
  CHECK(call(io, hook("http://127.0.0.1:/")).outcome.summary == "url: bad port ''");
  CHECK(call(io, hook("http://user:pw@127.0.0.1/")).outcome.summary ==
        "url: user@host is not supported (an Authorization header is)");
  CHECK(call(io, hook("http://[::1]:80/")).outcome.summary == "url: IPv6 address literals are not supported");
  CHECK_FALSE(call(io, hook("http:///x")).outcome.ok);
}

TEST_CASE("webhook: https verifies the server's certificate and name") {
  test::TempDir dir;
  const auto good = make_certificate(dir, "localhost", "DNS:localhost,IP:127.0.0.1");
  const auto ctx = server_context(good);

  SECTION("a certificate the system's CAs do not know is refused") {
    test::ScopedEnv file("SSL_CERT_FILE", std::nullopt);
    test::ScopedEnv cadir("SSL_CERT_DIR", std::nullopt);
    asio::io_context io;
    HttpServer server(io, {.tls = ctx.get()});
    const auto r = call(io, hook(local(server, "https") + "/"));
    CHECK_FALSE(r.outcome.ok);
    CHECK_THAT(r.outcome.summary, StartsWith("TLS handshake: certificate verify failed"));
    CHECK(server.requests.empty());
  }
  SECTION("a certificate from a CA it trusts is accepted") {
    // OpenSSL's default verify paths honour SSL_CERT_FILE: the test's certificate is its own CA.
    test::ScopedEnv file("SSL_CERT_FILE", good.cert);
    asio::io_context io;
    HttpServer server(io, {.status = 201, .tls = ctx.get()});
    auto a = hook(local(server, "https") + "/secure/{button}");
    a.body = "[]";
    const auto r = call(io, a);
    CHECK(r.outcome.ok);
    CHECK(r.outcome.summary == "HTTP 201");
    REQUIRE(server.requests.size() == 1);
    CHECK(std::string(server.requests[0].target()) == "/secure/bedroom");
    CHECK(server.requests[0].body() == "[]");
  }
  SECTION("a trusted certificate for another name is refused") {
    const auto other = make_certificate(dir, "elsewhere.example", "DNS:elsewhere.example");
    const auto other_ctx = server_context(other);
    test::ScopedEnv file("SSL_CERT_FILE", other.cert);
    asio::io_context io;
    HttpServer server(io, {.tls = other_ctx.get()});
    const auto r = call(io, hook(local(server, "https") + "/"));
    CHECK_FALSE(r.outcome.ok);
    CHECK(r.outcome.summary == "TLS handshake: certificate verify failed (IP address mismatch)");
    CHECK(server.requests.empty());
  }
}
