// SPDX-License-Identifier: GPL-2.0-or-later
// The one translation unit that includes libnl.

#include "netlink/neighbour.h"

#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/neighbour.h>
#include <netlink/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>

#include "util/error.h"
#include "util/posix.h"

namespace dashctl::netlink {
namespace {

using util::Error;
using util::Exit;

using SocketPtr = std::unique_ptr<nl_sock, util::Deleter<nl_socket_free>>;
using MsgPtr = std::unique_ptr<nl_msg, util::Deleter<nlmsg_free>>;
using CachePtr = std::unique_ptr<nl_cache, util::Deleter<nl_cache_free>>;
using NeighPtr = std::unique_ptr<rtnl_neigh, util::Deleter<rtnl_neigh_put>>;
using AddrPtr = std::unique_ptr<nl_addr, util::Deleter<nl_addr_put>>;

std::string what_of(util::Ipv4 ip, const std::string& iface) {
  return "netlink: looking up " + ip.str() + " on " + iface;
}

SocketPtr connect_route(util::Ipv4 ip, const std::string& iface) {
  SocketPtr sk(nl_socket_alloc());
  if (!sk) throw std::bad_alloc();
  if (int err = nl_connect(sk.get(), NETLINK_ROUTE); err < 0)
    throw Error(Exit::os, what_of(ip, iface) + ": " + nl_geterror(err));
  return sk;
}

/// The entry's MAC when the kernel would use it to send: a confirmed or recently confirmed
/// address, not one it is still resolving (INCOMPLETE), gave up on (FAILED) or never
/// resolves (NOARP).
std::optional<util::Mac> usable_mac(rtnl_neigh* n) {
  constexpr int usable = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT;
  const int state = rtnl_neigh_get_state(n);  // -1 when the message carried none
  if (state < 0 || (state & usable) == 0) return std::nullopt;
  nl_addr* lladdr = rtnl_neigh_get_lladdr(n);
  if (!lladdr || nl_addr_get_len(lladdr) != 6) return std::nullopt;
  util::Mac mac;
  std::memcpy(mac.bytes.data(), nl_addr_get_binary_addr(lladdr), mac.bytes.size());
  return mac;
}

/// What one question got back: the entry, or the kernel's error, for the request with
/// sequence number `seq`; replies to earlier questions are skipped.
struct Reply {
  unsigned seq = 0;
  bool answered = false;
  NeighPtr neigh;
  int error = 0;  ///< the kernel's errno, 0 when it answered with an entry
};

int on_sequence(nl_msg* msg, void* arg) {
  return nlmsg_hdr(msg)->nlmsg_seq == static_cast<Reply*>(arg)->seq ? NL_OK : NL_SKIP;
}

int on_neighbour(nl_msg* msg, void* arg) {
  auto* reply = static_cast<Reply*>(arg);
  reply->answered = true;
  rtnl_neigh* n = nullptr;
  if (rtnl_neigh_parse(nlmsg_hdr(msg), &n) < 0) return NL_STOP;
  reply->neigh.reset(n);
  return NL_STOP;
}

int on_error(sockaddr_nl*, nlmsgerr* e, void* arg) {
  auto* reply = static_cast<Reply*>(arg);
  reply->answered = true;
  reply->error = -e->error;
  return NL_STOP;
}

/// Fallback for kernels before 4.20, which answer RTM_GETNEIGH only with a dump: reads the
/// whole table (every family, every interface) into a libnl cache and picks the entry.
/// Costs one message per neighbour, which on a router's IoT network is a few dozen.
std::optional<util::Mac> from_dump(util::Ipv4 ip, const std::string& iface, int ifindex) {
  SocketPtr sk = connect_route(ip, iface);
  nl_cache* raw = nullptr;
  if (int err = rtnl_neigh_alloc_cache(sk.get(), &raw); err < 0)
    throw Error(Exit::os, what_of(ip, iface) + ": " + nl_geterror(err));
  CachePtr cache(raw);
  const uint32_t be = htonl(ip.value);
  AddrPtr dst(nl_addr_build(AF_INET, &be, sizeof be));
  if (!dst) throw std::bad_alloc();
  NeighPtr n(rtnl_neigh_get(cache.get(), ifindex, dst.get()));  // holds a reference
  return n ? usable_mac(n.get()) : std::nullopt;
}

}  // namespace

struct NeighbourTable::Socket {
  SocketPtr sk;
};

NeighbourTable::NeighbourTable() = default;
NeighbourTable::~NeighbourTable() = default;

std::optional<util::Mac> NeighbourTable::mac(util::Ipv4 ip, const std::string& iface) {
  // The index is remembered with the name; an interface deleted and made again under the
  // same name has a new index, which the kernel's ENODEV below reveals.
  if (iface != iface_ || ifindex_ == 0) {
    iface_ = iface;
    ifindex_ = if_nametoindex(iface.c_str());
  }
  if (ifindex_ == 0) return std::nullopt;  // no such interface (any more): nobody to ask about

  if (!socket_) {
    auto s = std::make_unique<Socket>();
    s->sk = connect_route(ip, iface);
    // A "get" is answered by the entry or an error, nothing after it: no ACK asked for, which
    // would stay queued after the entry. Replies are small, so one read without peeking
    // at their size first.
    nl_socket_disable_auto_ack(s->sk.get());
    nl_socket_disable_msg_peek(s->sk.get());
    // The reply is queued while the request is sent, so a receive never waits; the timeout
    // is a bound in case a kernel ever did otherwise.
    const timeval timeout{1, 0};
    if (setsockopt(nl_socket_get_fd(s->sk.get()), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0)
      util::throw_system(what_of(ip, iface), errno);
    socket_ = std::move(s);
  }
  nl_sock* sk = socket_->sk.get();

  // One RTM_GETNEIGH for exactly this address on this interface (a "neighbour get", Linux
  // 4.20 and later): the kernel looks the entry up in its hash table and sends it alone, so
  // the cost does not grow with the table.
  MsgPtr msg(nlmsg_alloc_simple(RTM_GETNEIGH, 0));
  if (!msg) throw std::bad_alloc();
  ndmsg request{};
  request.ndm_family = AF_INET;
  request.ndm_ifindex = static_cast<int>(ifindex_);
  const uint32_t be = htonl(ip.value);
  if (nlmsg_append(msg.get(), &request, sizeof request, NLMSG_ALIGNTO) < 0 ||
      nla_put(msg.get(), NDA_DST, sizeof be, &be) < 0)
    throw std::bad_alloc();

  // libnl's own sequence check expects a reply to end with an ACK or DONE, which a "get"
  // does not send; the check here takes the reply to this request and skips any other.
  Reply reply;
  nl_socket_modify_cb(sk, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, on_sequence, &reply);
  nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_neighbour, &reply);
  nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, on_error, &reply);
  auto fail = [&](int err) -> std::optional<util::Mac> {
    socket_.reset();  // whatever is queued on it is unknown now: the next question starts over
    throw Error(Exit::os, what_of(ip, iface) + ": " + nl_geterror(err));
  };
  if (int err = nl_send_auto(sk, msg.get()); err < 0) return fail(err);
  reply.seq = nlmsg_hdr(msg.get())->nlmsg_seq;
  for (int reads = 0; !reply.answered; ++reads) {
    if (reads == 8) return fail(NLE_SEQ_MISMATCH);  // only others' replies: give up
    // An error reply to this request ends the read with that error too: the reply says it.
    if (int err = nl_recvmsgs_default(sk); err < 0 && !reply.answered) return fail(err);
  }

  switch (reply.error) {
    case 0: break;
    case ENOENT: return std::nullopt;  // no entry for that address
    case ENODEV:
      // The interface went away since its index was read (or was made again, with a new
      // index): the next question reads the index again.
      ifindex_ = 0;
      return std::nullopt;
    case EOPNOTSUPP: return from_dump(ip, iface, static_cast<int>(ifindex_));
    default: util::throw_system(what_of(ip, iface), reply.error);
  }
  return reply.neigh ? usable_mac(reply.neigh.get()) : std::nullopt;
}

std::optional<util::Mac> neighbour_mac(util::Ipv4 ip, const std::string& iface) {
  return NeighbourTable().mac(ip, iface);
}

}  // namespace dashctl::netlink
