// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/control_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "daemon/control.h"
#include "daemon/socket_file.h"
#include "util/error.h"
#include "util/fs.h"

namespace dashctl::daemon {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using util::Error;
using util::Exit;
using namespace std::chrono_literals;

struct ControlServer::Client {
  Client(local::socket s, asio::io_context& io) : socket(std::move(s)), deadline(io, 1s) {}
  local::socket socket;
  asio::steady_timer deadline;
  std::array<char, kMaxRequest> in{};  // a request is one short line (protocol.h)
  size_t received = 0;
  std::string out;
};

ControlServer::ControlServer(asio::io_context& io, std::string path, Handler handler)
    : io_(io), path_(std::move(path)), handler_(std::move(handler)) {
  prepare_socket_dir(path_, "daemon.control_socket");
  claim_socket_path(path_, "daemon.control_socket", "answers",
                    [](const std::string& p) { return ask(p, "ping").has_value(); });
  const mode_t old = ::umask(0007);  // owner and group: status is for the admins
  boost::system::error_code ec;
  acceptor_.emplace(io_);
  acceptor_->open(local(), ec);
  if (!ec) acceptor_->bind(local::endpoint(path_), ec);
  const bool bound = !ec;
  ::umask(old);
  if (!ec) acceptor_->listen(static_cast<int>(kMaxClients), ec);
  if (ec) {
    if (bound) ::unlink(path_.c_str());
    acceptor_.reset();
    throw Error(Exit::cant_create, "listening on the control socket " + path_ + ": " + ec.message());
  }
  file_ = BoundSocketFile(path_);
  accept();
}

ControlServer::~ControlServer() {
  if (acceptor_) file_.remove();
}

void ControlServer::stop() {
  boost::system::error_code ec;
  if (acceptor_) acceptor_->close(ec);
}

void ControlServer::accept() {
  acceptor_->async_accept([this](boost::system::error_code ec, local::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
    if (!ec) {
      if (clients_ < kMaxClients)
        serve(std::move(socket));
      else
        refuse(std::move(socket));
    }
    accept();
  });
}

/// Past kMaxClients: "busy" at once, without waiting on the client. What it sent is read first
/// (as much as is there): a socket closed with unread data would reset the client's
/// connection, and its answer with it.
void ControlServer::refuse(local::socket socket) {
  const int fd = socket.native_handle();
  std::array<char, kMaxRequest> drain{};
  while (::recv(fd, drain.data(), drain.size(), MSG_DONTWAIT) > 0) {
  }
  const std::string answer = std::string(kAnswerBusy) + "\n";
  (void)::send(fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ++refused_;
}

void ControlServer::serve(local::socket socket) {
  ++clients_;
  auto c = std::make_shared<Client>(std::move(socket), io_);
  c->deadline.async_wait([c](boost::system::error_code e) {
    if (!e) c->socket.close(e);
  });
  read(c);
}

/// Reads until parse_request() has a request (answered, then closed) or a refusal (closed):
/// never more than kMaxRequest bytes, so one read_some at a time into what is left of `in`.
void ControlServer::read(const std::shared_ptr<Client>& c) {
  auto finish = [this, c] {
    boost::system::error_code e;
    c->deadline.cancel();
    c->socket.close(e);
    --clients_;
  };
  c->socket.async_read_some(asio::buffer(c->in.data() + c->received, c->in.size() - c->received),
                            [this, c, finish](boost::system::error_code ec, size_t n) {
                              if (ec || n == 0) return finish();  // end of input, an error, or the deadline
                              c->received += n;
                              const Request request = parse_request(std::string_view(c->in.data(), c->received));
                              if (request == Request::incomplete) return read(c);
                              if (request == Request::too_long) return finish();
                              c->out = handler_(request, std::string_view(c->in.data(), c->received)) + "\n";
                              asio::async_write(c->socket, asio::buffer(c->out),
                                                [finish](boost::system::error_code, size_t) { finish(); });
                            });
}

}  // namespace dashctl::daemon
