// GBNF grammars, as llama.cpp writes them (grammars/README.md there), parsed into
// flat rules that the matcher (matcher.hpp) walks.
//
// Syntax accepted:
//   rule    ::= name "::=" alternatives, ended by a newline (or the end of the text)
//   name    [a-zA-Z0-9-]+
//   item    "literal" (escapes \n \r \t \\ \" \[ \] \xHH \uHHHH \UHHHHHHHH) | [class] |
//           [^class] (ranges a-z, same escapes) | . (any character) | name | ( alternatives )
//   suffix  * + ? {m} {m,} {m,n} after an item
//   # comments to the end of the line; newlines are whitespace inside ( ) and after "::=" or |
//
// Contracts:
// - parse_gbnf() throws r1::Error naming the line and column for any text that is not a
//   grammar: syntax errors, an undefined or twice-defined rule, a missing root rule,
//   left recursion (a rule that can reach itself without consuming a character, which
//   would make matching loop), invalid UTF-8, and grammars over the size limits (below).
//   No input makes it crash or run unbounded: repetition counts, rule and symbol counts
//   and nesting depth are bounded.
// - The language is llama.cpp's: the same text is accepted by the same grammar. Repetition
//   is rewritten into generated rules (x* as a right-recursive rule, x{m,n} as m copies and
//   n - m nested optionals), which the matcher keeps flat (no stack growth per repetition).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace r1::grammar {

struct CharRange {
  uint32_t lo, hi;  // inclusive code points
};

// One element of an alternative. Alternatives are runs of symbols in Grammar::symbols
// ended by a Kind::end symbol.
struct Symbol {
  enum class Kind : uint8_t {
    end,        // end of the alternative
    rule,       // reference to rules[value]
    chars,      // one code point in ranges[first, first + count)
    chars_not,  // one code point in none of them
    any,        // any one code point
  };
  Kind kind = Kind::end;
  uint32_t value = 0;  // rule: the rule index; chars/chars_not: first range
  uint32_t count = 0;  // chars/chars_not: number of ranges

  bool terminal() const { return kind == Kind::chars || kind == Kind::chars_not || kind == Kind::any; }
};

struct GrammarLimits {
  size_t max_text = 1u << 20;      // bytes of grammar text
  size_t max_symbols = 1u << 20;   // symbols after repetition is expanded
  uint32_t max_repeat = 2000;      // m and n of {m,n}
  int max_depth = 64;              // nesting of ( )
};

// Parse tables a Matcher built for a grammar (matcher.hpp), kept with the grammar so that
// the next matcher of the same grammar starts warm instead of empty.
struct MatcherTables;
struct SharedTables {
  std::mutex mu;
  std::shared_ptr<const MatcherTables> tables;  // the largest published so far
};

struct Grammar {
  std::shared_ptr<SharedTables> shared = std::make_shared<SharedTables>();
  std::vector<Symbol> symbols;
  std::vector<CharRange> ranges;
  std::vector<std::vector<uint32_t>> rules;  // per rule: the first symbol of each alternative
  std::vector<std::string> rule_names;       // generated rules get "name-N" style names
  uint32_t root = 0;

  // Whether code point c matches terminal symbol s.
  bool matches(const Symbol& s, uint32_t c) const;
};

Grammar parse_gbnf(std::string_view text, std::string_view root_rule = "root", const GrammarLimits& limits = {});
// The same grammar object for the same text (root "root", default limits), from a small
// process-wide cache (64 texts, least recently used dropped), so that requests with one
// grammar (a schema, a tool set) share its parse and its warm matcher tables. Thread-safe;
// throws like parse_gbnf (errors are not cached).
std::shared_ptr<const Grammar> shared_gbnf(const std::string& text);

// A GBNF literal ("...") matching exactly the bytes of s: quotes, backslashes and control
// characters escaped, other UTF-8 as is.
std::string gbnf_literal(std::string_view s);

}  // namespace r1::grammar
