// Jinja subset: syntax errors, unsupported constructs and runtime errors throw
// r1::Error naming the problem and the template line.
#include <gtest/gtest.h>

#include <string>

#include "base/error.hpp"
#include "tokenizer/jinja.hpp"
#include "tokenizer_test_helpers.hpp"

using nlohmann::ordered_json;
using r1::jinja::Template;

namespace {

void expect_error(const std::string& src, std::initializer_list<const char*> parts,
                  const ordered_json& vars = ordered_json::object()) {
  r1::test::expect_message(r1::test::jinja_error_of(src, vars), parts, src);
}

}  // namespace

TEST(JinjaErrors, UnsupportedStatements) {
  expect_error("a\n{% include 'x' %}", {"line 2", "include"});
  expect_error("{% call foo() %}x{% endcall %}", {"line 1", "call"});
  expect_error("\n\n{% filter upper %}x{% endfilter %}", {"line 3", "filter"});
  expect_error("{% extends 'base' %}", {"extends"});
  expect_error("{% raw %}x{% endraw %}", {"raw"});
  expect_error("{% frobnicate %}", {"frobnicate"});
}

TEST(JinjaErrors, Syntax) {
  expect_error("line1\n{% if x %}\nno end", {"line 2", "if", "endif"});
  expect_error("{% for x in xs %}", {"line 1", "endfor"});
  expect_error("{{ 'unterminated }}", {"unterminated string"});
  expect_error("{# never closed", {"unterminated comment"});
  expect_error("{{ x @ y }}", {"unexpected character '@'"});
  expect_error("{{ 'a\\q' }}", {"escape"});
  expect_error("{{ f(*args) }}", {"unpacking"});
  expect_error("{{ x is divisibleby(3) }}", {"divisibleby"});
  expect_error("{% set 1 = 2 %}", {"invalid target"});
  expect_error("{{ x", {"end of template"});
  expect_error("{{ xs[] }}", {"empty subscript"});
  expect_error("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}", {"too deep"});
  expect_error(std::string(3000, '-').insert(0, "{{ ") + "1 }}", {"too deep"});
  std::string nested;
  for (int i = 0; i < 1000; ++i) nested += "{% if true %}";
  expect_error(nested, {"too deep"});
  expect_error("{{ x.99999999999999999999999 }}", {"too large"});
}

TEST(JinjaErrors, LineNumbersSurviveWhitespaceControl) {
  // trim_blocks removes newlines before tokenizing; lines still refer to the source.
  const std::string src = "{% if true %}\n{% if true %}\n  {%- set x = 1 -%}\n{{ x | nosuchfilter }}\n{% endif %}{% endif %}";
  expect_error(src, {"line 4", "unsupported filter 'nosuchfilter'"});
}

TEST(JinjaErrors, Runtime) {
  expect_error("{{ raise_exception('Only user and assistant roles are supported!') }}",
               {"line 1", "Only user and assistant roles are supported!"});
  expect_error("{{ 'a' + x }}", {"undefined"});
  expect_error("{{ 'a' + none }}", {"none"});
  expect_error("{{ s.nosuchmethod() }}", {"nosuchmethod"}, {{"s", "x"}});
  expect_error("{{ undefined_fn() }}", {"undefined_fn"});
  expect_error("{% set d = {} %}{% set d.x = 1 %}", {"namespace"});
  expect_error("{% for c in 'abc' %}{% endfor %}", {"cannot iterate", "string"});
  expect_error("{{ 1 / 0 }}", {"by zero"});
  expect_error("{{ x is nosuchtest }}", {"unsupported test 'nosuchtest'"});
  expect_error("{% macro f(a) %}{% endmacro %}{{ f(1, 2) }}", {"at most 1"});
  expect_error("{% macro f(a) %}{% endmacro %}{{ f(b=1) }}", {"no parameter 'b'"});
  expect_error("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", {"recursion"});
  expect_error("{{ xs[::0] }}", {"step"}, {{"xs", ordered_json::array({1})}});
  expect_error("{% set a, b = [1] %}", {"unpacks"});
  expect_error("{{ 3 is odd }}{{ 's' is odd }}", {"odd"});
  expect_error("{{ none | length }}", {"length"});
  expect_error("{{ x | map('upper') }}", {"map"}, {{"x", ordered_json::array()}});
  expect_error("{{ 1 }}", {"object"}, ordered_json::array());  // variables must be an object
}
