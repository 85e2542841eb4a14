#include "actions/actions.h"

#include "util/template.h"
#include "util/time.h"

namespace dashctl::actions {

std::string render(std::string_view tmpl, const Event& e) {
  return util::render_template(tmpl, [&](std::string_view name) -> std::string {
    if (name == "button") return e.button;
    if (name == "mac") return e.mac ? e.mac->str() : std::string();
    if (name == "ip") return e.ip.str();
    if (name == "source") return e.source;
    if (name == "count") return std::to_string(e.count);
    if (name == "time") return util::iso8601(e.time, true);
    // The config refuses unknown placeholders; should one slip through, it stays visible.
    return "{" + std::string(name) + "}";
  });
}

}  // namespace dashctl::actions
