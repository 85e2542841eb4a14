// SPDX-License-Identifier: GPL-2.0-or-later
// Applies a ruleset the kernel refuses, to show that the error names the command that
// caused it. Run in a lab's router namespace by test_setup.py.
//
//   nft_probe bad-chain   a nat chain on the forward hook
//   nft_probe bad-rule    a redirect in a filter chain (only nat chains may redirect)

#include <cstdio>
#include <string>

#include "nft/kernel.h"
#include "util/error.h"

using namespace dashctl;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  nft::Ruleset rs;
  rs.table = "dashctl_probe";
  nft::Rule accept;
  accept.iifname = "br-iot";
  nft::Rule redirect = accept;
  redirect.proto = nft::Proto::tcp;
  redirect.dport = 443;
  redirect.verdict = nft::Verdict::redirect;
  redirect.redirect_port = 1443;
  if (mode == "bad-chain") {
    rs.chains = {{"input", "filter", "input", 0, {accept}}, {"forward", "nat", "forward", 0, {accept}}};
  } else if (mode == "bad-rule") {
    rs.chains = {{"input", "filter", "input", 0, {accept, redirect}}};
  } else {
    std::fprintf(stderr, "usage: nft_probe bad-chain|bad-rule\n");
    return 64;
  }
  try {
    nft::apply(rs);
  } catch (const util::Error& e) {
    std::printf("%s\n", e.what());
    return static_cast<int>(e.code());
  }
  return 0;
}
