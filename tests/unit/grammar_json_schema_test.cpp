// JSON Schema -> grammar: the grammar accepts JSON texts the schema accepts (in the
// generated layout: properties in schema order) and refuses ones it does not; keywords the
// grammar cannot enforce are refused by name. Expectations written by hand.
#include <gtest/gtest.h>

#include <string>

#include "base/error.hpp"
#include "grammar/gbnf.hpp"
#include "grammar/json_schema.hpp"
#include "grammar/matcher.hpp"

namespace r1::grammar {
namespace {

using json = nlohmann::ordered_json;

bool accepts(const json& schema, const std::string& text) {
  Matcher m(std::make_shared<const Grammar>(parse_gbnf(json_schema_to_gbnf(schema))));
  return m.accept(text) && m.can_end();
}

std::string schema_error(const json& schema) {
  try {
    json_schema_to_gbnf(schema);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GrammarJsonSchema, ObjectsWithRequiredAndOptionalProperties) {
  const json s = {{"type", "object"},
                  {"properties", {{"a", {{"type", "integer"}}}, {"b", {{"type", "string"}}}, {"c", {{"type", "boolean"}}}}},
                  {"required", {"b"}}};
  EXPECT_TRUE(accepts(s, R"({"b":"x"})"));
  EXPECT_TRUE(accepts(s, R"({"a": -12, "b": "x"})"));
  EXPECT_TRUE(accepts(s, R"({ "a":0,"b":"q\"\u00e9","c":true })"));
  EXPECT_TRUE(accepts(s, R"({"b":"x","c":false})"));
  EXPECT_FALSE(accepts(s, R"({"a":1})"));             // b is required
  EXPECT_FALSE(accepts(s, R"({"b":"x","d":1})"));     // no other properties
  EXPECT_FALSE(accepts(s, R"({"a":01,"b":"x"})"));    // no leading zeros
  EXPECT_FALSE(accepts(s, R"({"a":1.5,"b":"x"})"));   // integer
  EXPECT_FALSE(accepts(s, R"({"b":"x",})"));          // trailing comma
  EXPECT_FALSE(accepts(s, R"({,"b":"x"})"));
  const json all_optional = {{"type", "object"}, {"properties", {{"p", {{"type", "null"}}}, {"q", {{"type", "number"}}}}}};
  EXPECT_TRUE(accepts(all_optional, "{}"));
  EXPECT_TRUE(accepts(all_optional, R"({"q":1e5})"));
  EXPECT_TRUE(accepts(all_optional, R"({"p":null,"q":-0.25})"));
  EXPECT_FALSE(accepts(all_optional, R"({"q":1,"p":null})"));  // schema order
}

TEST(GrammarJsonSchema, ArraysStringsEnumsAndRefs) {
  const json arr = {{"type", "array"}, {"items", {{"enum", {"x", 2, nullptr}}}}, {"minItems", 1}, {"maxItems", 3}};
  EXPECT_TRUE(accepts(arr, R"(["x"])"));
  EXPECT_TRUE(accepts(arr, R"(["x", 2, null])"));
  EXPECT_FALSE(accepts(arr, "[]"));
  EXPECT_FALSE(accepts(arr, R"(["x",2,null,2])"));
  EXPECT_FALSE(accepts(arr, R"(["y"])"));
  const json str = {{"type", "string"}, {"minLength", 2}, {"maxLength", 3}};
  EXPECT_TRUE(accepts(str, R"("ab")"));
  EXPECT_TRUE(accepts(str, R"("a\n")"));  // an escape is one character
  EXPECT_FALSE(accepts(str, R"("a")"));
  EXPECT_FALSE(accepts(str, R"("abcd")"));
  EXPECT_TRUE(accepts({{"type", "string"}, {"format", "date"}}, R"("2024-02-29")"));
  EXPECT_FALSE(accepts({{"type", "string"}, {"format", "date"}}, R"("2024-13-01")"));
  EXPECT_TRUE(accepts({{"type", "string"}, {"format", "uuid"}}, R"("123e4567-e89b-12d3-a456-426614174000")"));
  EXPECT_TRUE(accepts({{"const", {{"k", json::array({1, "two"})}}}}, R"({"k":[1,"two"]})"));
  EXPECT_TRUE(accepts({{"type", {"integer", "null"}}}, "null"));
  EXPECT_TRUE(accepts({{"anyOf", {{{"type", "integer"}}, {{"type", "string"}, {"maxLength", 1}}}}}, R"("z")"));
  // A recursive tree through $defs.
  const json tree = {{"$ref", "#/$defs/node"},
                     {"$defs", {{"node", {{"type", "object"},
                                          {"properties", {{"v", {{"type", "integer"}}},
                                                          {"kids", {{"type", "array"}, {"items", {{"$ref", "#/$defs/node"}}}}}}},
                                          {"required", {"v"}}}}}}};
  EXPECT_TRUE(accepts(tree, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[]}]})"));
  EXPECT_FALSE(accepts(tree, R"({"v":1,"kids":[{"w":2}]})"));
  // {} and true accept any JSON value; a map through additionalProperties.
  EXPECT_TRUE(accepts(json::object(), R"([1,{"a":[true,null]},"s",-2.5E+3])"));
  EXPECT_TRUE(accepts({{"type", "object"}, {"additionalProperties", {{"type", "integer"}}}}, R"({"x":1,"y":2})"));
  EXPECT_FALSE(accepts({{"type", "object"}, {"additionalProperties", {{"type", "integer"}}}}, R"({"x":"1"})"));
}

TEST(GrammarJsonSchema, JsonObjectGrammarAcceptsObjectsOnly) {
  Matcher m(std::make_shared<const Grammar>(parse_gbnf(json_object_gbnf())));
  EXPECT_TRUE(m.accept(R"({"a": [1, 2, {"b": null}], "c": "d"})"));
  EXPECT_TRUE(m.can_end());
  Matcher n(std::make_shared<const Grammar>(parse_gbnf(json_object_gbnf())));
  EXPECT_FALSE(n.accept("[1]"));
}

TEST(GrammarJsonSchema, UnenforceableKeywordsAreRefusedByPath) {
  EXPECT_EQ(schema_error({{"type", "object"}, {"properties", {{"age", {{"type", "integer"}, {"minimum", 0}}}}}}),
            "schema.properties.age: minimum is not supported");
  EXPECT_EQ(schema_error({{"type", "string"}, {"pattern", "^a"}}), "schema: pattern is not supported");
  EXPECT_EQ(schema_error({{"type", "string"}, {"format", "hostname"}}), "schema: format 'hostname' is not supported");
  EXPECT_EQ(schema_error({{"type", "array"}, {"uniqueItems", true}}), "schema: uniqueItems is not supported");
  EXPECT_EQ(schema_error({{"type", "wizard"}}), "schema: unknown type 'wizard'");
  EXPECT_EQ(schema_error(false), "schema: the schema false accepts nothing");
  EXPECT_EQ(schema_error({{"enum", json::array()}}), "schema: enum must be a non-empty array");
  EXPECT_NE(schema_error({{"$ref", "#/$defs/missing"}}).find("does not resolve"), std::string::npos);
  EXPECT_NE(schema_error({{"type", "object"}, {"required", {"x"}}}).find("'x' is not in properties"), std::string::npos);
  json deep = {{"type", "string"}};
  for (int i = 0; i < 80; ++i) deep = {{"type", "array"}, {"items", deep}};
  EXPECT_NE(schema_error(deep).find("nested deeper than 64"), std::string::npos);
}

}  // namespace
}  // namespace r1::grammar
