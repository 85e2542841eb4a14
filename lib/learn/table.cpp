// SPDX-License-Identifier: GPL-2.0-or-later
#include "learn/table.h"

#include <exception>

#include <spdlog/spdlog.h>

#include "nft/kernel.h"
#include "nft/ruleset.h"

namespace dashctl::learn {

const char* Table::name() { return nft::kLearnTable; }

uint16_t Table::group(const config::Config& c) { return nft::learn_group(c); }

bool Table::remove_leftover() { return nft::remove_table("inet", nft::kLearnTable); }

Table::Table(const config::Config& c) { nft::apply(nft::build_learn(c)); }

Table::~Table() { remove(); }

void Table::remove() noexcept {
  if (removed_) return;
  removed_ = true;
  try {
    nft::remove_table("inet", nft::kLearnTable);
  } catch (const std::exception& e) {
    try {
      spdlog::error("learn: removing table inet {}: {} (run 'dashctl setup' to remove it)", nft::kLearnTable,
                    e.what());
    } catch (...) {
      // Logging failed too: nothing is left to tell the user with.
    }
  }
}

}  // namespace dashctl::learn
