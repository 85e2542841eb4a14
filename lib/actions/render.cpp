#include "actions/actions.h"

#include <cstdio>

#include "util/template.h"

namespace dashctl::actions {
namespace {

/// 2026-11-22T03:04:05.123Z
std::string iso8601(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return text;
}

}  // namespace

std::string render(std::string_view tmpl, const Event& e) {
  return util::render_template(tmpl, [&](std::string_view name) -> std::string {
    if (name == "button") return e.button;
    if (name == "mac") return e.mac ? e.mac->str() : std::string();
    if (name == "ip") return e.ip.str();
    if (name == "source") return e.source;
    if (name == "count") return std::to_string(e.count);
    if (name == "time") return iso8601(e.time);
    // The config refuses unknown placeholders; should one slip through, it stays visible.
    return "{" + std::string(name) + "}";
  });
}

}  // namespace dashctl::actions
