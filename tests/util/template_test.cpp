// SPDX-License-Identifier: GPL-2.0-or-later
#include "support/catch.h"

#include "util/template.h"

using namespace dashctl::util;

namespace {
std::string render(std::string_view t) {
  return render_template(t, [](std::string_view name) {
    if (name == "button") return std::string("bedroom");
    if (name == "count") return std::string("2");
    return "<" + std::string(name) + ">";
  });
}
}  // namespace

TEST_CASE("placeholders are replaced") {
  CHECK(render("dashctl/{button}/press") == "dashctl/bedroom/press");
  CHECK(render("{button}{count}") == "bedroom2");
  CHECK(render("no placeholders") == "no placeholders");
}

TEST_CASE("braces that are not placeholders stay, a doubled opening brace is literal") {
  CHECK(render(R"({"button":"{button}"})") == R"({"button":"bedroom"})");
  CHECK(render(R"({"a":{"b":"{button}"}})") == R"({"a":{"b":"bedroom"}})");
  CHECK(render("{{button}") == "{button}");
  CHECK(render("}}") == "}}");
  CHECK(render("{") == "{");
  CHECK(render("}{") == "}{");
  CHECK(render("{Button}") == "{Button}");
  CHECK(render("{button") == "{button");
}

TEST_CASE("unknown placeholders are problems with a suggestion") {
  CHECK_FALSE(template_problem("{button} {mac} {ip} {time} {count} {source}"));
  CHECK_FALSE(template_problem(R"({"a":1})"));
  const auto p = template_problem("x/{buton}");
  REQUIRE(p);
  CHECK(p->find("unknown placeholder {buton} (did you mean {button}?)") == 0);
  CHECK(template_problem("{nope}"));
  CHECK_FALSE(template_problem("{{nope}"));
}
