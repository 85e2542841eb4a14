// SPDX-License-Identifier: GPL-2.0-or-later
#include "nft/ruleset.h"

#include <sstream>

namespace dashctl::nft {
namespace {

Rule from(const std::string& iif, std::string why) {
  Rule r;
  r.iifname = iif;
  r.why = std::move(why);
  return r;
}

Rule port_rule(const std::string& iif, Proto proto, uint16_t port, Verdict v, std::string why) {
  Rule r = from(iif, std::move(why));
  r.proto = proto;
  r.dport = port;
  r.verdict = v;
  return r;
}

/// The rejects that end the input and forward chains: TCP gets a reset, everything else
/// an ICMP admin-prohibited, so a button gives up at once instead of retrying into a
/// silent drop (battery).
void add_rejects(const std::string& iif, std::vector<Rule>& rules, const std::string& what) {
  Rule tcp = from(iif, "reject the rest " + what);
  tcp.proto = Proto::tcp;
  tcp.verdict = Verdict::reject_tcp_reset;
  rules.push_back(tcp);
  Rule rest = from(iif, "");
  rest.verdict = Verdict::reject_admin;
  rules.push_back(rest);
}

const char* proto_name(Proto p) { return p == Proto::tcp ? "tcp" : "udp"; }

}  // namespace

Ruleset build(const config::Config& config) {
  const auto& net = config.network;
  const std::string& iif = net.iot_interface;
  Ruleset rs;

  Chain pre{"prerouting", "nat", "prerouting", -100, {}};
  for (const auto port : net.intercept_ports) {
    Rule r = port_rule(iif, Proto::tcp, port, Verdict::redirect,
                       pre.rules.empty() ? "buttons dialling the cloud reach the listener" : "");
    r.redirect_port = net.listen_port;
    pre.rules.push_back(r);
  }
  if (net.ntp) {
    Rule r = port_rule(iif, Proto::udp, 123, Verdict::redirect, "buttons asking for the time reach the NTP responder");
    r.redirect_port = net.ntp_port;
    pre.rules.push_back(r);
  }
  if (net.force_dns) {
    for (const auto proto : {Proto::udp, Proto::tcp}) {
      Rule r = port_rule(iif, proto, 53, Verdict::redirect,
                         proto == Proto::udp ? "force_dns: hard-coded resolvers get this host's dnsmasq" : "");
      r.redirect_port = 53;
      pre.rules.push_back(r);
    }
  }
  rs.chains.push_back(pre);

  Chain input{"input", "filter", "input", 0, {}};
  // Before anything can accept them: the buttons' own DHCP requests and DNS queries, for
  // the daemon's nflog press source. A packet from no button costs nothing but the match.
  for (const auto& b : config.buttons) {
    if (!b.mac) continue;
    for (const uint16_t port : {uint16_t{67}, uint16_t{53}}) {
      Rule r = port_rule(iif, Proto::udp, port, Verdict::log,
                         input.rules.empty() ? "presses seen early: buttons' DHCP and DNS, to NFLOG group " +
                                                   std::to_string(net.nflog_group)
                                             : "");
      r.ether_saddr = b.mac;
      r.log_group = net.nflog_group;
      input.rules.push_back(r);
    }
  }
  Rule established = from(iif, "replies to what this host sent");
  established.established = true;
  input.rules.push_back(established);
  input.rules.push_back(port_rule(iif, Proto::udp, 67, Verdict::accept, "DHCP"));
  input.rules.push_back(port_rule(iif, Proto::udp, 53, Verdict::accept, "DNS"));
  input.rules.push_back(port_rule(iif, Proto::tcp, 53, Verdict::accept, ""));
  input.rules.push_back(port_rule(iif, Proto::tcp, net.listen_port, Verdict::accept, "the listener"));
  if (net.ntp) input.rules.push_back(port_rule(iif, Proto::udp, net.ntp_port, Verdict::accept, "the NTP responder"));
  if (net.isolate) add_rejects(iif, input.rules, "to this host");
  rs.chains.push_back(input);

  if (net.isolate) {
    Chain forward{"forward", "filter", "forward", 0, {}};
    for (const auto& allow : net.forward_allow) {
      Rule r = from(iif, forward.rules.empty() ? "forward_allow" : "");
      r.daddr = allow.to;
      using P = config::ForwardAllow::Proto;
      r.proto = allow.proto == P::tcp ? Proto::tcp : allow.proto == P::udp ? Proto::udp : Proto::any;
      r.dport = allow.port;
      forward.rules.push_back(r);
    }
    add_rejects(iif, forward.rules, "(isolation: buttons never reach the LAN or the internet)");
    rs.chains.push_back(forward);
  }
  return rs;
}

uint16_t learn_group(const config::Config& config) {
  return static_cast<uint16_t>(config.network.nflog_group + 1);  // the parser keeps it below 65535
}

Ruleset build_learn(const config::Config& config) {
  const std::string& iif = config.network.iot_interface;
  Ruleset rs;
  rs.table = kLearnTable;
  Chain watch{"watch", "filter", "prerouting", -300, {}};
  for (const uint16_t port : {uint16_t{67}, uint16_t{53}}) {
    Rule r = port_rule(iif, Proto::udp, port, Verdict::log, port == 67 ? "dashctl learn: DHCP requests and DNS queries" : "");
    r.log_group = learn_group(config);
    watch.rules.push_back(r);
  }
  rs.chains.push_back(watch);
  return rs;
}

std::string to_text(const Rule& r) {
  std::ostringstream out;
  out << "iifname \"" << r.iifname << "\"";
  if (r.ether_saddr) out << " ether saddr " << r.ether_saddr->str();
  if (r.established) out << " ct state established,related";
  if (r.daddr) {
    out << " ip daddr " << (r.daddr->length == 32 ? r.daddr->network.str() : r.daddr->str());
  }
  if (r.proto != Proto::any) {
    if (r.dport)
      out << " " << proto_name(r.proto) << " dport " << *r.dport;
    else
      out << " meta l4proto " << proto_name(r.proto);
  }
  switch (r.verdict) {
    case Verdict::accept: out << " accept"; break;
    case Verdict::redirect: out << " redirect to :" << r.redirect_port; break;
    case Verdict::reject_tcp_reset: out << " reject with tcp reset"; break;
    case Verdict::reject_admin: out << " reject with icmpx admin-prohibited"; break;
    case Verdict::log: out << " log group " << r.log_group; break;
  }
  return out.str();
}

std::string to_text(const Ruleset& rs, bool replace) {
  std::ostringstream out;
  if (replace) {
    // What setup's transaction does: create the table if it is missing, delete it, and
    // build it again, all or nothing.
    out << "add table " << rs.family << " " << rs.table << "\n"
        << "delete table " << rs.family << " " << rs.table << "\n";
  }
  out << "table " << rs.family << " " << rs.table << " {\n";
  for (size_t i = 0; i < rs.chains.size(); ++i) {
    const auto& c = rs.chains[i];
    if (i) out << "\n";
    const std::string prio = c.priority == -300   ? "raw"
                             : c.priority == -100 ? "dstnat"
                             : c.priority == 0    ? "filter"
                                                  : std::to_string(c.priority);
    out << "\tchain " << c.name << " {\n"
        << "\t\ttype " << c.type << " hook " << c.hook << " priority " << prio << "; policy accept;\n";
    for (const auto& r : c.rules) {
      if (!r.why.empty()) out << "\t\t# " << r.why << "\n";
      out << "\t\t" << to_text(r) << "\n";
    }
    out << "\t}\n";
  }
  out << "}\n";
  return out.str();
}

}  // namespace dashctl::nft
