// SPDX-License-Identifier: GPL-2.0-or-later
// The one translation unit that includes nfnetlink_log's headers.

#include "nflog/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>  // CAP_NET_ADMIN
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "util/caps.h"
#include "util/error.h"
#include "util/posix.h"

namespace dashctl::nflog {
namespace {

using util::Error;
using util::Exit;
using SocketPtr = std::unique_ptr<mnl_socket, util::Deleter<mnl_socket_close>>;

constexpr uint16_t kConfigType = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
constexpr uint16_t kPacketType = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;

/// A config message for `group`; the caller adds one attribute.
nlmsghdr* config_message(char* buf, uint16_t group, uint32_t seq) {
  auto* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = kConfigType;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = htons(group);
  return nlh;
}

struct Attrs {
  const nlattr* tb[NFULA_MAX + 1] = {};
};

int keep_attr(const nlattr* a, void* data) {
  const int type = mnl_attr_get_type(a);
  if (mnl_attr_type_valid(a, NFULA_MAX) < 0) return MNL_CB_OK;  // newer than these headers
  static_cast<Attrs*>(data)->tb[type] = a;
  return MNL_CB_OK;
}

}  // namespace

struct Socket::Impl {
  SocketPtr sock;
  uint32_t portid = 0;
  uint32_t seq = 0;
  uint16_t group = 0;
  Stats stats;
  std::vector<char> buf = std::vector<char>(1 << 16);

  /// Sends one config message and waits for the kernel's answer: 0 or an errno.
  int configure(nlmsghdr* nlh) {
    if (mnl_socket_sendto(sock.get(), nlh, nlh->nlmsg_len) < 0) return errno;
    // The socket is still blocking here; an ack always comes.
    for (int reads = 0; reads < 16; ++reads) {
      const ssize_t n = mnl_socket_recvfrom(sock.get(), buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      const int ret = mnl_cb_run(buf.data(), static_cast<size_t>(n), nlh->nlmsg_seq, portid, nullptr, nullptr);
      if (ret < 0) return errno;
      if (ret == MNL_CB_STOP) return 0;
    }
    return ETIMEDOUT;
  }
};

Socket::Socket(uint16_t group, uint32_t copy_bytes) : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  s.group = group;
  const std::string g = "NFLOG group " + std::to_string(group);
  s.sock.reset(mnl_socket_open(NETLINK_NETFILTER));
  if (!s.sock) util::throw_system("opening a netlink socket for " + g, errno);
  if (mnl_socket_bind(s.sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) util::throw_system("binding a netlink socket", errno);
  s.portid = mnl_socket_get_portid(s.sock.get());
  s.seq = static_cast<uint32_t>(::time(nullptr));

  std::vector<char> msg(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = config_message(msg.data(), group, s.seq++);
  const nfulnl_msg_config_cmd bind{NFULNL_CFG_CMD_BIND};
  mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof bind, &bind);
  if (const int err = s.configure(nlh)) {
    // The kernel answers EPERM both without the capability and when another socket has the
    // group; the capability tells the two apart.
    if ((err == EPERM || err == EACCES) && !util::has_capability(CAP_NET_ADMIN))
      throw Error(Exit::no_perm, "binding " + g + ": needs CAP_NET_ADMIN (root)");
    if (err == EPERM || err == EBUSY)
      throw Error(Exit::unavailable, "binding " + g + ": another program reads that group",
                  "is another 'dashctl learn', or 'dashctl run' with its nflog source, running?");
    util::throw_system("binding " + g, err);
  }

  nlh = config_message(msg.data(), group, s.seq++);
  nfulnl_msg_config_mode mode{};
  mode.copy_range = htonl(copy_bytes);
  mode.copy_mode = NFULNL_COPY_PACKET;
  mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof mode, &mode);
  // One packet is enough to send: a press must not wait for a batch to fill or time out.
  mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(1));
  if (const int err = s.configure(nlh)) util::throw_system("configuring " + g, err);

  // Room for a burst (every button pressed at once, each with a few packets).
  const int rcvbuf = 1 << 20;
  ::setsockopt(fd(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  const int flags = ::fcntl(fd(), F_GETFL);
  if (flags < 0 || ::fcntl(fd(), F_SETFL, flags | O_NONBLOCK) < 0) util::throw_system("configuring " + g, errno);
}

Socket::~Socket() = default;  // closing the socket unbinds the group

int Socket::fd() const { return mnl_socket_get_fd(impl_->sock.get()); }
uint16_t Socket::group() const { return impl_->group; }
const Stats& Socket::stats() const { return impl_->stats; }

void Socket::drain(const std::function<void(const Logged&)>& on, int max_reads) {
  auto& s = *impl_;
  for (int reads = 0; reads < max_reads; ++reads) {
    const ssize_t n = ::recv(fd(), s.buf.data(), s.buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == ENOBUFS) {  // the kernel dropped what did not fit; read on
        ++s.stats.lost;
        continue;
      }
      util::throw_system("reading NFLOG group " + std::to_string(s.group), errno);
    }
    int left = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(s.buf.data()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      if (nlh->nlmsg_type != kPacketType) continue;  // acks, errors, done
      Attrs attrs;
      if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nfgenmsg)) ||
          mnl_attr_parse(nlh, sizeof(nfgenmsg), keep_attr, &attrs) < 0 || !attrs.tb[NFULA_PAYLOAD]) {
        ++s.stats.malformed;
        continue;
      }
      Logged l;
      const auto* payload = attrs.tb[NFULA_PAYLOAD];
      l.payload = {static_cast<const uint8_t*>(mnl_attr_get_payload(payload)), mnl_attr_get_payload_len(payload)};
      if (const auto* hw = attrs.tb[NFULA_HWADDR]; hw && mnl_attr_get_payload_len(hw) >= sizeof(nfulnl_msg_packet_hw)) {
        nfulnl_msg_packet_hw addr;
        std::memcpy(&addr, mnl_attr_get_payload(hw), sizeof addr);
        if (ntohs(addr.hw_addrlen) == 6) {
          util::Mac m;
          std::memcpy(m.bytes.data(), addr.hw_addr, 6);
          l.mac = m;
        }
      }
      if (const auto* in = attrs.tb[NFULA_IFINDEX_INDEV]; in && mnl_attr_get_payload_len(in) == 4)
        l.indev = ntohl(mnl_attr_get_u32(in));
      ++s.stats.received;
      on(l);
    }
  }
}

}  // namespace dashctl::nflog
