// JSON Schema -> GBNF grammar text (gbnf.hpp) that generates only JSON the schema accepts.
//
// Supported: type (string, number, integer, boolean, null, object, array, or a list of
// them), enum, const, properties + required (properties written in the schema's order;
// optional ones may be left out; no others are generated), additionalProperties as a
// schema for objects without properties (maps), items, prefixItems, minItems, maxItems,
// minLength, maxLength, format (date, time, date-time, uuid), anyOf, oneOf (as anyOf), $ref
// to "#", "#/$defs/..." or "#/definitions/..." (recursion allowed), and {} / true (any JSON
// value). Annotations (title, description, default, examples, $schema, $id, $comment, strict)
// are ignored.
//
// Contracts:
// - A keyword that would constrain values in a way the grammar does not enforce (pattern,
//   minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, minProperties,
//   maxProperties, allOf, not, if, then, else, patternProperties, dependentRequired,
//   dependentSchemas, contains, uniqueItems: true, unevaluatedProperties, unknown format) throws r1::Error naming it and its
//   path ("schema.properties.age: minimum is not supported"), as do wrong types, a false
//   schema, unresolvable $refs, an enum that is not a non-empty array, nesting deeper
//   than 64 and schemas that expand to more than 4096 rules. So an accepted schema's output
//   always validates against it.
// - Output is bounded where the schema does not bound it: numbers have at most 16 integer
//   and 16 fraction digits and 3 exponent digits; whitespace between tokens is one space or
//   a newline and up to 20 spaces or tabs (indentation). Strings, arrays and maps are unbounded unless maxLength / maxItems say.
// - json_object_gbnf(): any JSON object (response_format json_object).
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace r1::grammar {

std::string json_schema_to_gbnf(const nlohmann::ordered_json& schema);

// GBNF rules assembled from several parts (schemas inside a larger grammar): rules in the
// order added; a rule added twice must have the same body (the shared primitives do).
class GbnfRules {
 public:
  void add(const std::string& name, const std::string& body);
  std::string text() const;
 private:
  std::map<std::string, std::string> bodies_;
  std::vector<std::string> order_;
};
// Adds the rules of `schema` with its top rule called `name` (names of its own rules
// start with `name`; the primitives, "string", "ws", ..., are shared). Throws like
// json_schema_to_gbnf.
void add_json_schema_rules(GbnfRules& rules, const nlohmann::ordered_json& schema, const std::string& name);
// The same for a schema whose key order is lost (nlohmann::json sorts keys): properties
// are then generated in alphabetical order.
std::string json_schema_to_gbnf(const nlohmann::json& schema);
std::string json_object_gbnf();

}  // namespace r1::grammar
