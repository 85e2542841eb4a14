// SPDX-License-Identifier: GPL-2.0-or-later
// The one translation unit that includes libnftnl and libmnl.

#include "nft/kernel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/flowtable.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>

#include "util/error.h"
#include "util/posix.h"

namespace dashctl::nft {
namespace {

using util::Error;
using util::Exit;

using TablePtr = std::unique_ptr<nftnl_table, util::Deleter<nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, util::Deleter<nftnl_chain_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, util::Deleter<nftnl_rule_free>>;
using SetPtr = std::unique_ptr<nftnl_set, util::Deleter<nftnl_set_free>>;
using ObjPtr = std::unique_ptr<nftnl_obj, util::Deleter<nftnl_obj_free>>;
using FlowtablePtr = std::unique_ptr<nftnl_flowtable, util::Deleter<nftnl_flowtable_free>>;
using SocketPtr = std::unique_ptr<mnl_socket, util::Deleter<mnl_socket_close>>;

template <typename Ptr, auto Alloc>
Ptr alloc_or_throw() {
  Ptr p(Alloc());
  if (!p) throw std::bad_alloc();
  return p;
}

uint16_t family_of(const std::string& f) {
  if (f == "inet") return NFPROTO_INET;
  if (f == "ip") return NFPROTO_IPV4;
  if (f == "ip6") return NFPROTO_IPV6;
  throw Error(Exit::software, "unknown nftables family " + f);
}

const char* family_name(uint32_t f) {
  switch (f) {
    case NFPROTO_INET: return "inet";
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_IPV6: return "ip6";
    case NFPROTO_BRIDGE: return "bridge";
    case NFPROTO_ARP: return "arp";
    case NFPROTO_NETDEV: return "netdev";
    default: return "unknown";
  }
}

uint32_t hook_of(const std::string& h) {
  if (h == "prerouting") return NF_INET_PRE_ROUTING;
  if (h == "input") return NF_INET_LOCAL_IN;
  if (h == "forward") return NF_INET_FORWARD;
  if (h == "output") return NF_INET_LOCAL_OUT;
  if (h == "postrouting") return NF_INET_POST_ROUTING;
  throw Error(Exit::software, "unknown hook " + h);
}

std::string hook_name(uint32_t h) {
  switch (h) {
    case NF_INET_PRE_ROUTING: return "prerouting";
    case NF_INET_LOCAL_IN: return "input";
    case NF_INET_FORWARD: return "forward";
    case NF_INET_LOCAL_OUT: return "output";
    case NF_INET_POST_ROUTING: return "postrouting";
    default: return "hook " + std::to_string(h);
  }
}

// ---- expressions, as `nft` itself encodes them (checked with nft --debug=netlink) --------

void add(nftnl_rule* r, nftnl_expr* e) {
  if (!e) throw std::bad_alloc();
  nftnl_rule_add_expr(r, e);
}

nftnl_expr* expr(const char* name) { return nftnl_expr_alloc(name); }

void meta_load(nftnl_rule* r, uint32_t key) {
  auto* e = expr("meta");
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
  add(r, e);
}

void cmp(nftnl_rule* r, uint32_t op, const void* data, uint32_t len) {
  auto* e = expr("cmp");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
  add(r, e);
}

void payload_load(nftnl_rule* r, uint32_t base, uint32_t offset, uint32_t len) {
  auto* e = expr("payload");
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
  add(r, e);
}

void bitwise_and(nftnl_rule* r, const void* mask, uint32_t len) {
  const uint32_t zero = 0;
  auto* e = expr("bitwise");
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, len);
  add(r, e);
}

void encode_matches(nftnl_rule* r, const Rule& rule) {
  // iifname: the name zero-padded to IFNAMSIZ, as nft compares an exact name.
  char name[IFNAMSIZ] = {};
  std::strncpy(name, rule.iifname.c_str(), IFNAMSIZ - 1);
  meta_load(r, NFT_META_IIFNAME);
  cmp(r, NFT_CMP_EQ, name, IFNAMSIZ);
  if (rule.ether_saddr) {
    // nft checks the link layer is Ethernet before it reads an Ethernet address.
    const uint16_t ether = ARPHRD_ETHER;
    meta_load(r, NFT_META_IIFTYPE);
    cmp(r, NFT_CMP_EQ, &ether, sizeof ether);
    payload_load(r, NFT_PAYLOAD_LL_HEADER, 6, 6);
    cmp(r, NFT_CMP_EQ, rule.ether_saddr->bytes.data(), 6);
  }
  if (rule.established) {
    auto* e = expr("ct");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
    add(r, e);
    const uint32_t mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED);
    const uint32_t zero = 0;
    bitwise_and(r, &mask, sizeof mask);
    cmp(r, NFT_CMP_NEQ, &zero, sizeof zero);
  }
  if (rule.daddr) {
    // An inet table sees IPv6 too: an IPv4 field needs the family checked first.
    const uint8_t ipv4 = NFPROTO_IPV4;
    meta_load(r, NFT_META_NFPROTO);
    cmp(r, NFT_CMP_EQ, &ipv4, sizeof ipv4);
    payload_load(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
    const uint32_t net = htonl(rule.daddr->network.value);
    if (rule.daddr->length < 32) {
      const uint32_t mask = htonl(rule.daddr->mask());
      bitwise_and(r, &mask, sizeof mask);
    }
    cmp(r, NFT_CMP_EQ, &net, sizeof net);
  }
  if (rule.proto != Proto::any) {
    const uint8_t proto = rule.proto == Proto::tcp ? IPPROTO_TCP : IPPROTO_UDP;
    meta_load(r, NFT_META_L4PROTO);
    cmp(r, NFT_CMP_EQ, &proto, sizeof proto);
    if (rule.dport) {
      const uint16_t port = htons(*rule.dport);
      payload_load(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
      cmp(r, NFT_CMP_EQ, &port, sizeof port);
    }
  }
}

void encode_verdict(nftnl_rule* r, const Rule& rule) {
  switch (rule.verdict) {
    case Verdict::accept: {
      auto* e = expr("immediate");
      nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
      nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
      add(r, e);
      break;
    }
    case Verdict::redirect: {
      const uint16_t port = htons(rule.redirect_port);
      auto* imm = expr("immediate");
      nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
      nftnl_expr_set(imm, NFTNL_EXPR_IMM_DATA, &port, sizeof port);
      add(r, imm);
      auto* e = expr("redir");
      nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_1);
      nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
      add(r, e);
      break;
    }
    case Verdict::log: {
      auto* e = expr("log");
      nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, rule.log_group);
      add(r, e);
      break;
    }
    case Verdict::reject_tcp_reset:
    case Verdict::reject_admin: {
      auto* e = expr("reject");
      const bool tcp = rule.verdict == Verdict::reject_tcp_reset;
      nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, tcp ? NFT_REJECT_TCP_RST : NFT_REJECT_ICMPX_UNREACH);
      nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, tcp ? 0 : NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
      add(r, e);
      break;
    }
  }
}

RulePtr make_rule(const Ruleset& rs, const Chain& chain, const Rule& rule) {
  auto r = alloc_or_throw<RulePtr, nftnl_rule_alloc>();
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, family_of(rs.family));
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, rs.table.c_str());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.name.c_str());
  encode_matches(r.get(), rule);
  encode_verdict(r.get(), rule);
  return r;
}

TablePtr make_table(const std::string& family, const std::string& name) {
  auto t = alloc_or_throw<TablePtr, nftnl_table_alloc>();
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, family_of(family));
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
  return t;
}

ChainPtr make_chain(const Ruleset& rs, const Chain& c) {
  auto ch = alloc_or_throw<ChainPtr, nftnl_chain_alloc>();
  nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_FAMILY, family_of(rs.family));
  nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TABLE, rs.table.c_str());
  nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_NAME, c.name.c_str());
  nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TYPE, c.type.c_str());
  nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_HOOKNUM, hook_of(c.hook));
  nftnl_chain_set_s32(ch.get(), NFTNL_CHAIN_PRIO, c.priority);
  nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
  return ch;
}

Encoded print(nftnl_rule* r) {
  Encoded out;
  auto* it = nftnl_expr_iter_create(r);
  if (!it) throw std::bad_alloc();
  while (auto* e = nftnl_expr_iter_next(it)) {
    char buf[512];
    nftnl_expr_snprintf(buf, sizeof buf, e, NFTNL_OUTPUT_DEFAULT, 0);
    out.push_back(std::string("[ ") + nftnl_expr_get_str(e, NFTNL_EXPR_NAME) + " " + buf + "]");
  }
  nftnl_expr_iter_destroy(it);
  return out;
}

// ---- netlink -------------------------------------------------------------------------------

/// A socket to nf_tables, with the sequence numbers of what it sent.
class Netlink {
 public:
  Netlink() : sock_(mnl_socket_open(NETLINK_NETFILTER)) {
    if (!sock_) util::throw_system("opening a netlink socket to nf_tables", errno);
    if (mnl_socket_bind(sock_.get(), 0, MNL_SOCKET_AUTOPID) < 0)
      util::throw_system("binding a netlink socket to nf_tables", errno);
    portid_ = mnl_socket_get_portid(sock_.get());
    seq_ = static_cast<uint32_t>(::time(nullptr));
  }

  uint32_t next_seq() { return seq_++; }

  void send(const void* buf, size_t len, const std::string& what) {
    if (mnl_socket_sendto(sock_.get(), buf, len) < 0) util::throw_system(what, errno);
  }

  /// Makes room for a batch of `len` bytes: netlink refuses a message larger than the
  /// socket's send buffer (EMSGSIZE). Forced past the system's limit as nft does; that
  /// takes CAP_NET_ADMIN, which changing the ruleset takes anyway.
  void make_room(size_t len) {
    int size = 0;
    socklen_t size_len = sizeof size;
    const int fd = mnl_socket_get_fd(sock_.get());
    // getsockopt reports twice what was set, the kernel's own overhead included.
    if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, &size_len) == 0 && static_cast<size_t>(size) / 2 > len) return;
    const int want = static_cast<int>(std::min<size_t>(len + 4096, 1u << 30));
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want) != 0)
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want);  // the send says what fails
  }

  /// Reads the answers to a batch that the kernel has already processed (it does so inside
  /// sendmsg): the first error, with the sequence number of the message it is about.
  std::optional<std::pair<uint32_t, int>> batch_error() {
    std::optional<std::pair<uint32_t, int>> first;
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    for (int reads = 0; reads < 10000; ++reads) {
      const ssize_t n = ::recv(mnl_socket_get_fd(sock_.get()), buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        util::throw_system("reading nf_tables' answer", errno);
      }
      int left = static_cast<int>(n);
      for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, left);
           nlh = mnl_nlmsg_next(nlh, &left)) {
        if (nlh->nlmsg_type != NLMSG_ERROR) continue;
        const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (err->error != 0 && !first) first = std::pair(err->msg.nlmsg_seq, -err->error);
      }
    }
    return first;
  }

  /// Sends one request and runs `cb` on every message of the answer (a dump or an ack).
  /// Returns 0, or the errno the kernel answered with.
  int request(const nlmsghdr* nlh, const std::function<void(const nlmsghdr*)>& cb) {
    send(nlh, nlh->nlmsg_len, "asking nf_tables");
    const uint32_t seq = nlh->nlmsg_seq;
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    auto trampoline = [](const nlmsghdr* m, void* data) -> int {
      (*static_cast<const std::function<void(const nlmsghdr*)>*>(data))(m);
      return MNL_CB_OK;
    };
    for (int reads = 0; reads < 100000; ++reads) {
      const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        util::throw_system("reading nf_tables' answer", errno);
      }
      const int ret = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portid_, trampoline,
                                 const_cast<std::function<void(const nlmsghdr*)>*>(&cb));
      if (ret < 0) return errno;
      if (ret == MNL_CB_STOP) return 0;
    }
    throw Error(Exit::os, "nf_tables' answer did not end");
  }

 private:
  SocketPtr sock_;
  uint32_t portid_ = 0;
  uint32_t seq_ = 0;
};

/// A transaction: messages between a batch begin and end, each with what it does in words.
class Batch {
 public:
  /// `limit`: the most the batch may hold. A message is written before the batch can tell
  /// that it went past the limit, so the buffer is twice as large, as libmnl asks.
  explicit Batch(Netlink& nl, size_t limit = kDefaultLimit)
      : nl_(nl), buf_(2 * std::max(limit, kDefaultLimit)) {
    batch_ = mnl_nlmsg_batch_start(buf_.data(), buf_.size() / 2);
    begin_seq_ = nl_.next_seq();
    nftnl_batch_begin(static_cast<char*>(mnl_nlmsg_batch_current(batch_)), begin_seq_);
    mnl_nlmsg_batch_next(batch_);
  }
  ~Batch() { mnl_nlmsg_batch_stop(batch_); }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  /// Starts a message; the caller adds its payload.
  nlmsghdr* message(uint16_t type, uint16_t family, uint16_t flags, std::string what) {
    const uint32_t seq = nl_.next_seq();
    what_.emplace_back(seq, std::move(what));
    auto* nlh = nftnl_nlmsg_build_hdr(static_cast<char*>(mnl_nlmsg_batch_current(batch_)), type, family,
                                      flags | NLM_F_ACK, seq);
    return nlh;
  }
  void next() {
    if (!mnl_nlmsg_batch_next(batch_)) throw Error(Exit::software, "the nftables transaction is too large");
  }

  /// Sends the batch. The kernel applies all of it or none of it.
  void commit(const std::string& doing) {
    nftnl_batch_end(static_cast<char*>(mnl_nlmsg_batch_current(batch_)), nl_.next_seq());
    mnl_nlmsg_batch_next(batch_);
    nl_.make_room(mnl_nlmsg_batch_size(batch_));
    nl_.send(mnl_nlmsg_batch_head(batch_), mnl_nlmsg_batch_size(batch_), doing);
    if (const auto err = nl_.batch_error()) {
      // An error on the batch itself (no CAP_NET_ADMIN) is told against its first command.
      std::string what = what_.empty() ? doing : what_.front().second;
      for (const auto& [seq, w] : what_)
        if (seq == err->first) what = w;
      util::throw_system(what, err->second);
    }
  }

 private:
  static constexpr size_t kDefaultLimit = 1 << 17;
  Netlink& nl_;
  std::vector<char> buf_;
  mnl_nlmsg_batch* batch_ = nullptr;
  uint32_t begin_seq_ = 0;
  std::vector<std::pair<uint32_t, std::string>> what_;
};

void add_table_messages(Batch& b, const std::string& family, const std::string& table) {
  const auto t = make_table(family, table);
  const std::string name = "table " + family + " " + table;
  // Adding first makes the delete succeed when the table is missing: bookworm's kernel and
  // nft have no "destroy".
  nftnl_table_nlmsg_build_payload(b.message(NFT_MSG_NEWTABLE, family_of(family), NLM_F_CREATE, "adding " + name), t.get());
  b.next();
  nftnl_table_nlmsg_build_payload(b.message(NFT_MSG_DELTABLE, family_of(family), 0, "deleting " + name), t.get());
  b.next();
}

// ---- saving a table whole, to put it back ---------------------------------------------------

// One kind of object in a table, for save_table and restore_table: how libnftnl allocates,
// reads and writes it, and how an object read back becomes one to add (as_new: the kernel's
// handle dropped, since a handle in a new chain's or rule's message names one to replace,
// which is not there any more).

struct ChainKind {
  using Ptr = ChainPtr;
  static constexpr uint16_t get = NFT_MSG_GETCHAIN, add = NFT_MSG_NEWCHAIN, flags = NLM_F_CREATE;
  static Ptr alloc() { return alloc_or_throw<Ptr, nftnl_chain_alloc>(); }
  static void set_table(nftnl_chain* o, const std::string& t) { nftnl_chain_set_str(o, NFTNL_CHAIN_TABLE, t.c_str()); }
  static const char* table(nftnl_chain* o) { return nftnl_chain_get_str(o, NFTNL_CHAIN_TABLE); }
  static int parse(const nlmsghdr* h, nftnl_chain* o) { return nftnl_chain_nlmsg_parse(h, o); }
  static void build(nlmsghdr* h, nftnl_chain* o) { nftnl_chain_nlmsg_build_payload(h, o); }
  static void as_new(nftnl_chain* o, uint32_t) {
    nftnl_chain_unset(o, NFTNL_CHAIN_HANDLE);
    nftnl_chain_unset(o, NFTNL_CHAIN_USE);
  }
  static std::string name(nftnl_chain* o) { return std::string("chain ") + nftnl_chain_get_str(o, NFTNL_CHAIN_NAME); }
};

struct SetKind {
  using Ptr = SetPtr;
  static constexpr uint16_t get = NFT_MSG_GETSET, add = NFT_MSG_NEWSET, flags = NLM_F_CREATE;
  static Ptr alloc() { return alloc_or_throw<Ptr, nftnl_set_alloc>(); }
  static void set_table(nftnl_set* o, const std::string& t) { nftnl_set_set_str(o, NFTNL_SET_TABLE, t.c_str()); }
  static const char* table(nftnl_set* o) { return nftnl_set_get_str(o, NFTNL_SET_TABLE); }
  static int parse(const nlmsghdr* h, nftnl_set* o) { return nftnl_set_nlmsg_parse(h, o); }
  static void build(nlmsghdr* h, nftnl_set* o) { nftnl_set_nlmsg_build_payload(h, o); }
  static void as_new(nftnl_set* o, uint32_t n) {
    nftnl_set_unset(o, NFTNL_SET_HANDLE);
    // The kernel asks a new set for an ID of the transaction's own (its elements may name it by that).
    nftnl_set_set_u32(o, NFTNL_SET_ID, n);
  }
  static std::string name(nftnl_set* o) { return std::string("set ") + nftnl_set_get_str(o, NFTNL_SET_NAME); }
};

struct ObjKind {
  using Ptr = ObjPtr;
  static constexpr uint16_t get = NFT_MSG_GETOBJ, add = NFT_MSG_NEWOBJ, flags = NLM_F_CREATE;
  static Ptr alloc() { return alloc_or_throw<Ptr, nftnl_obj_alloc>(); }
  static void set_table(nftnl_obj* o, const std::string& t) { nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, t.c_str()); }
  static const char* table(nftnl_obj* o) { return nftnl_obj_get_str(o, NFTNL_OBJ_TABLE); }
  static int parse(const nlmsghdr* h, nftnl_obj* o) { return nftnl_obj_nlmsg_parse(h, o); }
  static void build(nlmsghdr* h, nftnl_obj* o) { nftnl_obj_nlmsg_build_payload(h, o); }
  // libnftnl 1.2.4 does not export nftnl_obj_unset; the kernel finds an object by name and
  // ignores a handle in its message.
  static void as_new(nftnl_obj*, uint32_t) {}
  static std::string name(nftnl_obj* o) { return std::string("object ") + nftnl_obj_get_str(o, NFTNL_OBJ_NAME); }
};

struct FlowtableKind {
  using Ptr = FlowtablePtr;
  static constexpr uint16_t get = NFT_MSG_GETFLOWTABLE, add = NFT_MSG_NEWFLOWTABLE, flags = NLM_F_CREATE;
  static Ptr alloc() { return alloc_or_throw<Ptr, nftnl_flowtable_alloc>(); }
  static void set_table(nftnl_flowtable* o, const std::string& t) {
    nftnl_flowtable_set_str(o, NFTNL_FLOWTABLE_TABLE, t.c_str());
  }
  static const char* table(nftnl_flowtable* o) { return nftnl_flowtable_get_str(o, NFTNL_FLOWTABLE_TABLE); }
  static int parse(const nlmsghdr* h, nftnl_flowtable* o) { return nftnl_flowtable_nlmsg_parse(h, o); }
  static void build(nlmsghdr* h, nftnl_flowtable* o) { nftnl_flowtable_nlmsg_build_payload(h, o); }
  static void as_new(nftnl_flowtable* o, uint32_t) {
    nftnl_flowtable_unset(o, NFTNL_FLOWTABLE_HANDLE);
    nftnl_flowtable_unset(o, NFTNL_FLOWTABLE_USE);
  }
  static std::string name(nftnl_flowtable* o) {
    return std::string("flowtable ") + nftnl_flowtable_get_str(o, NFTNL_FLOWTABLE_NAME);
  }
};

struct RuleKind {
  using Ptr = RulePtr;
  // Appended, in the order the dump lists them: each chain's order.
  static constexpr uint16_t get = NFT_MSG_GETRULE, add = NFT_MSG_NEWRULE, flags = NLM_F_CREATE | NLM_F_APPEND;
  static Ptr alloc() { return alloc_or_throw<Ptr, nftnl_rule_alloc>(); }
  static void set_table(nftnl_rule* o, const std::string& t) { nftnl_rule_set_str(o, NFTNL_RULE_TABLE, t.c_str()); }
  static const char* table(nftnl_rule* o) { return nftnl_rule_get_str(o, NFTNL_RULE_TABLE); }
  static int parse(const nlmsghdr* h, nftnl_rule* o) { return nftnl_rule_nlmsg_parse(h, o); }
  static void build(nlmsghdr* h, nftnl_rule* o) { nftnl_rule_nlmsg_build_payload(h, o); }
  static void as_new(nftnl_rule* o, uint32_t) {
    nftnl_rule_unset(o, NFTNL_RULE_HANDLE);
    nftnl_rule_unset(o, NFTNL_RULE_POSITION);
  }
  static std::string name(nftnl_rule* o) {
    return std::string("rule in chain ") + nftnl_rule_get_str(o, NFTNL_RULE_CHAIN);
  }
};

/// Everything of one kind in a table, as the kernel dumps it. `bytes` grows by the size of
/// the answers, which is about what putting them back takes.
template <class Kind>
std::vector<typename Kind::Ptr> dump_all(Netlink& nl, uint16_t family, const std::string& table,
                                         const std::string& what, size_t& bytes) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), Kind::get, family, NLM_F_DUMP, nl.next_seq());
  const auto filter = Kind::alloc();
  Kind::set_table(filter.get(), table);
  Kind::build(nlh, filter.get());
  std::vector<typename Kind::Ptr> out;
  bool unreadable = false;
  const int err = nl.request(nlh, [&](const nlmsghdr* m) {
    auto o = Kind::alloc();
    if (Kind::parse(m, o.get()) < 0) {
      unreadable = true;
      return;
    }
    if (table != Kind::table(o.get())) return;
    Kind::as_new(o.get(), static_cast<uint32_t>(out.size() + 1));
    bytes += m->nlmsg_len;
    out.push_back(std::move(o));
  });
  if (err != 0) util::throw_system("reading the " + what + " of table " + table, err);
  if (unreadable)
    throw Error(Exit::software, "reading the " + what + " of table " + table + ": libnftnl cannot read one of them",
                "the table holds something this dashctl cannot put back if setup fails; remove it "
                "('dashctl teardown'), then run setup again");
  return out;
}

/// Adds a message to `b` for each saved object, as it was read.
template <class Kind>
void add_all(Batch& b, uint16_t family, const std::vector<typename Kind::Ptr>& objects) {
  for (const auto& o : objects) {
    Kind::build(b.message(Kind::add, family, Kind::flags, "putting back " + Kind::name(o.get())), o.get());
    b.next();
  }
}

/// Adds a set's elements to `b`: as many messages as an attribute's 64 KiB limit needs.
void add_elements(Batch& b, uint16_t family, nftnl_set* set) {
  using IterPtr = std::unique_ptr<nftnl_set_elems_iter, util::Deleter<nftnl_set_elems_iter_destroy>>;
  IterPtr it(nftnl_set_elems_iter_create(set));
  if (!it) throw std::bad_alloc();
  if (!nftnl_set_elems_iter_cur(it.get())) return;  // no elements; an empty list is refused
  const std::string what = "putting back the elements of set " + std::string(nftnl_set_get_str(set, NFTNL_SET_NAME));
  for (bool more = true; more;) {
    more = nftnl_set_elems_nlmsg_build_payload_iter(b.message(NFT_MSG_NEWSETELEM, family, NLM_F_CREATE, what),
                                                    it.get()) == 1;
    b.next();
  }
}

}  // namespace

struct SavedTable::Capture {
  std::string family, name;
  TablePtr table;  ///< null: there was none
  std::vector<ChainPtr> chains;
  std::vector<SetPtr> sets;  ///< with their elements
  std::vector<ObjPtr> objects;
  std::vector<FlowtablePtr> flowtables;
  std::vector<RulePtr> rules;
  size_t bytes = 0;  ///< the size of what was read
};

SavedTable::SavedTable(std::shared_ptr<const Capture> capture) : capture_(std::move(capture)) {}
SavedTable::~SavedTable() = default;
SavedTable::SavedTable(const SavedTable&) = default;
SavedTable& SavedTable::operator=(const SavedTable&) = default;
bool SavedTable::present() const { return capture_->table != nullptr; }

SavedTable save_table(const std::string& family, const std::string& table) {
  auto c = std::make_shared<SavedTable::Capture>();
  c->family = family;
  c->name = table;
  const auto fam = family_of(family);
  const std::string name = "table " + family + " " + table;
  Netlink nl;
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);

  auto t = make_table(family, table);
  auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETTABLE, fam, NLM_F_ACK, nl.next_seq());
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  auto found = alloc_or_throw<TablePtr, nftnl_table_alloc>();
  bool parsed = false;
  const int err = nl.request(nlh, [&](const nlmsghdr* m) { parsed = nftnl_table_nlmsg_parse(m, found.get()) >= 0; });
  if (err == ENOENT) return SavedTable(std::move(c));
  if (err != 0) util::throw_system("reading " + name, err);
  if (!parsed) throw Error(Exit::software, "reading " + name + ": libnftnl cannot read the kernel's answer");
  nftnl_table_unset(found.get(), NFTNL_TABLE_HANDLE);
  nftnl_table_unset(found.get(), NFTNL_TABLE_USE);
  c->table = std::move(found);

  c->chains = dump_all<ChainKind>(nl, fam, table, "chains", c->bytes);
  c->sets = dump_all<SetKind>(nl, fam, table, "sets", c->bytes);
  for (auto& set : c->sets) {
    // The elements arrive into the set they belong to; asked for by the set's table and name.
    nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSETELEM, fam, NLM_F_DUMP, nl.next_seq());
    nftnl_set_elems_nlmsg_build_payload(nlh, set.get());
    bool unreadable = false;
    const int e = nl.request(nlh, [&](const nlmsghdr* m) {
      unreadable = unreadable || nftnl_set_elems_nlmsg_parse(m, set.get()) < 0;
      c->bytes += m->nlmsg_len;
    });
    const std::string what = "the elements of set " + std::string(nftnl_set_get_str(set.get(), NFTNL_SET_NAME)) +
                             " in " + name;
    if (e != 0) util::throw_system("reading " + what, e);
    if (unreadable) throw Error(Exit::software, "reading " + what + ": libnftnl cannot read them");
  }
  c->objects = dump_all<ObjKind>(nl, fam, table, "stateful objects", c->bytes);
  c->flowtables = dump_all<FlowtableKind>(nl, fam, table, "flowtables", c->bytes);
  c->rules = dump_all<RuleKind>(nl, fam, table, "rules", c->bytes);
  return SavedTable(std::move(c));
}

void restore_table(const SavedTable& saved) {
  const auto& c = *saved.capture_;
  const auto fam = family_of(c.family);
  const std::string name = "table " + c.family + " " + c.name;
  Netlink nl;
  // Twice what was read: the messages are about as large as the kernel's answers.
  Batch b(nl, 2 * c.bytes);
  add_table_messages(b, c.family, c.name);
  if (c.table) {
    nftnl_table_nlmsg_build_payload(b.message(NFT_MSG_NEWTABLE, fam, NLM_F_CREATE, "putting back " + name),
                                    c.table.get());
    b.next();
    // What a rule or element names (a chain to jump to, a set, an object, a flowtable) comes
    // before it.
    add_all<ChainKind>(b, fam, c.chains);
    add_all<ObjKind>(b, fam, c.objects);
    add_all<FlowtableKind>(b, fam, c.flowtables);
    add_all<SetKind>(b, fam, c.sets);
    for (const auto& set : c.sets) add_elements(b, fam, set.get());
    add_all<RuleKind>(b, fam, c.rules);
  }
  b.commit("putting back " + name);
}

Encoded encode(const Ruleset& rs, const Chain& chain, const Rule& rule) {
  const auto r = make_rule(rs, chain, rule);
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_NEWRULE, family_of(rs.family), NLM_F_CREATE | NLM_F_APPEND, 1);
  nftnl_rule_nlmsg_build_payload(nlh, r.get());
  auto parsed = alloc_or_throw<RulePtr, nftnl_rule_alloc>();
  if (nftnl_rule_nlmsg_parse(nlh, parsed.get()) < 0)
    throw Error(Exit::software, "libnftnl cannot parse the rule it encoded: " + to_text(rule));
  return print(parsed.get());
}

Installed expected(const Ruleset& rs) {
  Installed out;
  for (const auto& c : rs.chains) {
    InstalledChain ic{c.name, c.type, c.hook, "accept", c.priority, {}};
    for (const auto& r : c.rules) {
      auto rule = make_rule(rs, c, r);
      // The kernel reports a redirect's port range with its end set to its start when
      // only the start was given (nft sends only the start); expect what it reports.
      auto* it = nftnl_expr_iter_create(rule.get());
      if (!it) throw std::bad_alloc();
      while (auto* e = nftnl_expr_iter_next(it)) {
        if (std::strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "redir") == 0 &&
            !nftnl_expr_is_set(e, NFTNL_EXPR_REDIR_REG_PROTO_MAX))
          nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MAX, nftnl_expr_get_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN));
      }
      nftnl_expr_iter_destroy(it);
      ic.rules.push_back(print(rule.get()));
    }
    out.chains.push_back(std::move(ic));
  }
  return out;
}

void apply(const Ruleset& rs) {
  Netlink nl;
  Batch b(nl);
  add_table_messages(b, rs.family, rs.table);
  const auto t = make_table(rs.family, rs.table);
  nftnl_table_nlmsg_build_payload(
      b.message(NFT_MSG_NEWTABLE, family_of(rs.family), NLM_F_CREATE, "adding table " + rs.family + " " + rs.table),
      t.get());
  b.next();
  for (const auto& c : rs.chains) {
    const auto ch = make_chain(rs, c);
    nftnl_chain_nlmsg_build_payload(
        b.message(NFT_MSG_NEWCHAIN, family_of(rs.family), NLM_F_CREATE, "adding chain " + c.name), ch.get());
    b.next();
    for (const auto& r : c.rules) {
      const auto rule = make_rule(rs, c, r);
      nftnl_rule_nlmsg_build_payload(b.message(NFT_MSG_NEWRULE, family_of(rs.family), NLM_F_CREATE | NLM_F_APPEND,
                                               "adding rule to chain " + c.name + " (" + to_text(r) + ")"),
                                     rule.get());
      b.next();
    }
  }
  b.commit("replacing table " + rs.family + " " + rs.table);
}

bool remove_table(const std::string& family, const std::string& table) {
  const bool present = read_table(family, table).has_value();
  Netlink nl;
  Batch b(nl);
  add_table_messages(b, family, table);
  b.commit("removing table " + family + " " + table);
  return present;
}

std::optional<Installed> read_table(const std::string& family, const std::string& table) {
  Netlink nl;
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  const auto fam = family_of(family);

  const auto t = make_table(family, table);
  auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETTABLE, fam, NLM_F_ACK, nl.next_seq());
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  const int err = nl.request(nlh, [](const nlmsghdr*) {});
  if (err == ENOENT) return std::nullopt;
  if (err != 0) util::throw_system("reading table " + family + " " + table, err);

  Installed out;
  nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETCHAIN, fam, NLM_F_DUMP, nl.next_seq());
  auto filter = alloc_or_throw<ChainPtr, nftnl_chain_alloc>();
  nftnl_chain_set_str(filter.get(), NFTNL_CHAIN_TABLE, table.c_str());
  nftnl_chain_nlmsg_build_payload(nlh, filter.get());
  int e = nl.request(nlh, [&](const nlmsghdr* m) {
    auto c = alloc_or_throw<ChainPtr, nftnl_chain_alloc>();
    if (nftnl_chain_nlmsg_parse(m, c.get()) < 0) return;
    if (table != nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE)) return;
    InstalledChain ic;
    ic.name = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME);
    if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM)) {
      ic.type = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TYPE);
      ic.hook = hook_name(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM));
      ic.priority = nftnl_chain_get_s32(c.get(), NFTNL_CHAIN_PRIO);
      ic.policy = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY) == NF_DROP ? "drop" : "accept";
    }
    out.chains.push_back(std::move(ic));
  });
  if (e != 0) util::throw_system("reading the chains of table " + family + " " + table, e);

  nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETRULE, fam, NLM_F_DUMP, nl.next_seq());
  auto rfilter = alloc_or_throw<RulePtr, nftnl_rule_alloc>();
  nftnl_rule_set_str(rfilter.get(), NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_nlmsg_build_payload(nlh, rfilter.get());
  e = nl.request(nlh, [&](const nlmsghdr* m) {
    auto r = alloc_or_throw<RulePtr, nftnl_rule_alloc>();
    if (nftnl_rule_nlmsg_parse(m, r.get()) < 0) return;
    if (table != nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE)) return;
    const std::string chain = nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN);
    for (auto& c : out.chains)
      if (c.name == chain) c.rules.push_back(print(r.get()));
  });
  if (e != 0) util::throw_system("reading the rules of table " + family + " " + table, e);
  return out;
}

std::vector<std::string> differences(const Installed& want, const Installed& have) {
  std::vector<std::string> out;
  for (const auto& w : want.chains) {
    const InstalledChain* h = nullptr;
    for (const auto& c : have.chains)
      if (c.name == w.name) h = &c;
    if (!h) {
      out.push_back("chain " + w.name + " is missing");
      continue;
    }
    if (h->type != w.type || h->hook != w.hook || h->priority != w.priority || h->policy != w.policy)
      out.push_back("chain " + w.name + " is type " + h->type + " hook " + h->hook + " priority " +
                    std::to_string(h->priority) + " policy " + h->policy + ", not type " + w.type + " hook " +
                    w.hook + " priority " + std::to_string(w.priority) + " policy " + w.policy);
    if (h->rules.size() != w.rules.size())
      out.push_back("chain " + w.name + " has " + std::to_string(h->rules.size()) + " rules, not " +
                    std::to_string(w.rules.size()));
    for (size_t i = 0; i < std::min(h->rules.size(), w.rules.size()); ++i) {
      if (h->rules[i] == w.rules[i]) continue;
      // Name the first expression that differs: what a person can act on.
      size_t j = 0;
      while (j < h->rules[i].size() && j < w.rules[i].size() && h->rules[i][j] == w.rules[i][j]) ++j;
      const auto at = [j](const Encoded& e) { return j < e.size() ? e[j] : std::string("(nothing)"); };
      out.push_back("chain " + w.name + ": rule " + std::to_string(i + 1) + " has " + at(h->rules[i]) +
                    " where " + at(w.rules[i]) + " belongs");
    }
  }
  for (const auto& h : have.chains) {
    bool wanted = false;
    for (const auto& w : want.chains) wanted = wanted || w.name == h.name;
    if (!wanted) out.push_back("chain " + h.name + " is not dashctl's");
  }
  return out;
}

std::vector<ForeignDrop> foreign_drops() {
  Netlink nl;
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  std::vector<ForeignDrop> out;
  auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETCHAIN, NFPROTO_UNSPEC, NLM_F_DUMP, nl.next_seq());
  const int e = nl.request(nlh, [&](const nlmsghdr* m) {
    auto c = alloc_or_throw<ChainPtr, nftnl_chain_alloc>();
    if (nftnl_chain_nlmsg_parse(m, c.get()) < 0 || !nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM)) return;
    const uint32_t fam = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FAMILY);
    const uint32_t hook = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM);
    if (fam != NFPROTO_INET && fam != NFPROTO_IPV4) return;
    if (hook != NF_INET_LOCAL_IN && hook != NF_INET_FORWARD) return;
    if (nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY) != NF_DROP) return;
    const std::string table = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE);
    if (fam == NFPROTO_INET && table == "dashctl") return;
    out.push_back({family_name(fam), table, nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME), hook_name(hook)});
  });
  if (e != 0) util::throw_system("listing nftables chains", e);
  return out;
}

}  // namespace dashctl::nft
