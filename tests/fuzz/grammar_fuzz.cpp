// libFuzzer entry point for the grammar engine and the tool-call parsers, all of which
// read text a request controls:
// - input starting with '{': a JSON Schema -> json_schema_to_gbnf -> parse_gbnf (a
//   converted schema must always parse);
// - input starting with a byte < 4: tool-call text for that format (0..3): parse_tool_calls
//   must not throw, and calls it returns must carry JSON-object arguments;
// - anything else: GBNF text (first line) and bytes to match (the rest): parse_gbnf either
//   returns a grammar or throws r1::Error; a grammar's matcher accepts or refuses each
//   chunk of the bytes without crashing, and can_end/must_end stay consistent.
// Broken invariants trap.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "engine/tool_calls.hpp"
#include "grammar/gbnf.hpp"
#include "grammar/json_schema.hpp"
#include "grammar/matcher.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  if (static_cast<unsigned char>(in[0]) < 4) {
    const auto f = static_cast<r1::ToolFormat>(in[0]);
    const std::string text = in.substr(1);
    r1::ParsedAnswer p = r1::parse_tool_calls(f, text);
    if (p.calls.empty()) check(p.content == text);
    for (const r1::ToolCall& c : p.calls) {
      check(!c.name.empty());
      check(nlohmann::json::parse(c.arguments, nullptr, false).is_object());
    }
    (void)r1::tool_call_start(f, text);
    return 0;
  }
  if (in[0] == '{') {
    nlohmann::ordered_json schema = nlohmann::ordered_json::parse(in, nullptr, false);
    if (schema.is_discarded()) return 0;
    std::string gbnf;
    try {
      gbnf = r1::grammar::json_schema_to_gbnf(schema);
    } catch (const r1::Error&) {
      return 0;
    }
    try {
      r1::grammar::parse_gbnf(gbnf);
    } catch (const r1::Error&) {
      check(false);  // a converted schema always parses
    }
    return 0;
  }
  const size_t nl = in.find('\n');
  const std::string text = in.substr(0, nl);
  const std::string bytes = nl == std::string::npos ? "" : in.substr(nl + 1);
  std::shared_ptr<const r1::grammar::Grammar> g;
  try {
    g = std::make_shared<const r1::grammar::Grammar>(r1::grammar::parse_gbnf(text));
  } catch (const r1::Error&) {
    return 0;
  }
  try {
    r1::grammar::Matcher m(g, 256);
    for (size_t i = 0; i < bytes.size(); i += 3) {
      const std::string chunk = bytes.substr(i, 3);
      const bool allowed = m.allows(chunk);
      check(m.accept(chunk) == allowed);
      if (m.must_end()) check(m.can_end());
    }
  } catch (const r1::Error&) {
    // too ambiguous: refused, fine
  }
  return 0;
}
