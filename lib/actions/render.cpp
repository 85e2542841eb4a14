// SPDX-License-Identifier: GPL-2.0-or-later
#include "actions/actions.h"

#include "util/template.h"
#include "util/time.h"

namespace dashctl::actions {

std::string render(std::string_view tmpl, const press::Press& p) {
  return util::render_template(tmpl, [&](std::string_view name) -> std::string {
    if (name == "button") return p.button;
    if (name == "mac") return p.first.mac ? p.first.mac->str() : std::string();
    if (name == "ip") return p.first.ip.str();
    if (name == "source") return press::source_name(p.first.source);
    if (name == "count") return std::to_string(p.number);
    if (name == "time") return util::iso8601(p.first.wall, true);
    // The config refuses unknown placeholders; should one slip through, it stays visible.
    std::string kept = "{";
    kept += name;
    kept += '}';
    return kept;
  });
}

}  // namespace dashctl::actions
