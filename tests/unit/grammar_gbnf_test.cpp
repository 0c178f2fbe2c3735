// GBNF parsing and matching, with expectations written by hand from the grammar's
// meaning (which strings it accepts) and llama.cpp's documented syntax.
#include <gtest/gtest.h>

#include <string>

#include "base/error.hpp"
#include "grammar/gbnf.hpp"
#include "grammar/matcher.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1::grammar {
namespace {

std::shared_ptr<const Grammar> parse(const std::string& g) { return std::make_shared<const Grammar>(parse_gbnf(g)); }

// Whether the whole text is a complete match, fed one byte at a time (every prefix of a
// match must be allowed, and the end must be reachable).
bool full_match(const std::string& g, const std::string& text) {
  Matcher m(parse(g));
  for (char c : text)
    if (!m.accept(std::string(1, c))) return false;
  return m.can_end();
}

// The error message parse_gbnf gives ("" when it parses).
std::string parse_error(const std::string& g) {
  try {
    parse_gbnf(g);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GrammarGbnf, LiteralsClassesAndRepetition) {
  EXPECT_TRUE(full_match(R"(root ::= "hi")", "hi"));
  EXPECT_FALSE(full_match(R"(root ::= "hi")", "h"));
  EXPECT_FALSE(full_match(R"(root ::= "hi")", "hii"));
  const std::string rep = R"(root ::= [a-c]{2,3} "x")";
  EXPECT_TRUE(full_match(rep, "abx"));
  EXPECT_TRUE(full_match(rep, "cccx"));
  EXPECT_FALSE(full_match(rep, "ax"));
  EXPECT_FALSE(full_match(rep, "abcax"));
  EXPECT_FALSE(full_match(rep, "adx"));
  EXPECT_TRUE(full_match(R"(root ::= [^0-9]+)", "abc"));
  EXPECT_FALSE(full_match(R"(root ::= [^0-9]+)", "a1"));
  EXPECT_TRUE(full_match(R"(root ::= "a"{3,})", "aaaaa"));
  EXPECT_FALSE(full_match(R"(root ::= "a"{3,})", "aa"));
  EXPECT_TRUE(full_match(R"(root ::= "ab"* "c"?)", ""));
  EXPECT_TRUE(full_match(R"(root ::= "ab"* "c"?)", "ababc"));
  EXPECT_FALSE(full_match(R"(root ::= "ab"* "c"?)", "abac"));
  EXPECT_TRUE(full_match(R"(root ::= . . ".")", "xy."));
  EXPECT_TRUE(full_match("root ::= \"\\x41\\u00e9\\t\\\"\"", "A\xC3\xA9\t\""));
  EXPECT_TRUE(full_match(R"(root ::= [\]\\-]+)", "]\\-"));  // escaped ] and \, a literal - last
}

TEST(GrammarGbnf, RulesRecursionAndLayout) {
  const std::string parens = "root ::= e\ne ::= \"(\" e* \")\" | [a-z]";
  EXPECT_TRUE(full_match(parens, "(a(b)())"));
  EXPECT_FALSE(full_match(parens, "(a(b)"));
  // Newlines are whitespace inside groups and after ::= and |; comments anywhere.
  const std::string layout = "# c\nroot ::= # c\n  \"a\" (\n  \"b\" |\n  \"c\" # c\n  )\n\nother ::= \"z\"\n";
  EXPECT_TRUE(full_match(layout, "ab"));
  EXPECT_TRUE(full_match(layout, "ac"));
  EXPECT_FALSE(full_match(layout, "az"));
  EXPECT_TRUE(full_match("root ::= x\r\nx ::= \"q\"\r\n", "q"));  // CRLF line ends
}

TEST(GrammarGbnf, ErrorsNameTheProblemAndPlace) {
  EXPECT_NE(parse_error("root ::= undefined-rule").find("'undefined-rule' is used but never defined"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"a\"\nroot ::= \"b\"").find("line 2 column 1: rule 'root' is defined twice"),
            std::string::npos);
  EXPECT_NE(parse_error("start ::= \"a\"").find("no 'root' rule"), std::string::npos);
  EXPECT_NE(parse_error("root ::= root \"a\" | \"b\"").find("left-recursive"), std::string::npos);
  EXPECT_NE(parse_error("root ::= a\na ::= b \"x\"\nb ::= \"\" | a").find("left-recursive"), std::string::npos);
  // Left recursion through a nullable prefix.
  EXPECT_NE(parse_error("root ::= n root \"x\" | \"y\"\nn ::= \"z\"?").find("left-recursive"), std::string::npos);
  EXPECT_NE(parse_error("root ::= (\"a\"?)*").find("left-recursive"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"abc").find("unterminated string"), std::string::npos);
  EXPECT_NE(parse_error("root ::= [abc").find("unterminated character class"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"\\q\"").find("unknown escape"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"\\x4\"").find("hex digits"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"\xC3\"").find("invalid UTF-8"), std::string::npos);
  EXPECT_NE(parse_error("root ::= [z-a]").find("reversed"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"a\"{5,2}").find("max below min"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"a\"{99999}").find("repetition count over"), std::string::npos);
  EXPECT_NE(parse_error("root ::= * \"a\"").find("without a preceding item"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"a\" )").find("expecting the end of the line"), std::string::npos);
  EXPECT_NE(parse_error("root \"a\"").find("expecting '::='"), std::string::npos);
  EXPECT_NE(parse_error("root ::= <[12]>").find("token references"), std::string::npos);
  EXPECT_NE(parse_error("root ::= " + std::string(70, '(') + "\"a\"" + std::string(70, ')')).find("nested deeper"),
            std::string::npos);
  EXPECT_NE(parse_error("").find("no rules"), std::string::npos);
  // Repetition that would expand past the symbol limit is refused, not expanded.
  std::string huge = "root ::=";
  for (int i = 0; i < 70; ++i) huge += " \"abcdefgh\"{2000}";
  EXPECT_NE(parse_error(huge).find("more than"), std::string::npos);
  // Nested repetition of a group stays compact (rule references), so it is accepted.
  EXPECT_EQ(parse_error("root ::= ((\"abcdefgh\"{2000}){2000}){2000}"), "");
}

TEST(GrammarMatcher, EndStatesAndRejection) {
  Matcher m(parse(R"(root ::= "a" "b"?)"));
  EXPECT_FALSE(m.can_end());
  EXPECT_FALSE(m.accept("b"));   // rejected: state unchanged
  EXPECT_TRUE(m.accept("a"));
  EXPECT_TRUE(m.can_end());
  EXPECT_FALSE(m.must_end());   // "b" may still follow
  EXPECT_TRUE(m.allows("b"));
  EXPECT_FALSE(m.allows("bb"));
  EXPECT_TRUE(m.accept("b"));
  EXPECT_TRUE(m.must_end());
  EXPECT_FALSE(m.allows(""));   // empty pieces are never allowed
}

TEST(GrammarMatcher, PartialUtf8AcrossTokens) {
  // "é" is C3 A9: a token may end inside it; the next must continue it.
  Matcher m(parse(R"(root ::= "é" "!"?)"));
  EXPECT_TRUE(m.allows("\xC3"));
  EXPECT_FALSE(m.allows("\xC4"));     // starts U+0100..U+013F: cannot become é
  EXPECT_FALSE(m.allows("\xA9"));     // a continuation byte cannot start a character
  EXPECT_TRUE(m.accept("\xC3"));
  EXPECT_FALSE(m.allows("a"));        // not a continuation of the pending character
  EXPECT_FALSE(m.allows("\xAA"));     // completes U+00EA
  EXPECT_TRUE(m.accept("\xA9!"));
  EXPECT_TRUE(m.must_end());
  // A token that only starts a character ends every finished parse: after "a" the
  // grammar could end, after "a" + C3 it cannot until the character is complete.
  Matcher n(parse(R"(root ::= "a" "é"?)"));
  EXPECT_TRUE(n.accept("a"));
  EXPECT_TRUE(n.can_end());
  EXPECT_TRUE(n.accept("\xC3"));
  EXPECT_FALSE(n.can_end());
  EXPECT_TRUE(n.accept("\xA9"));
  EXPECT_TRUE(n.can_end());
}

TEST(GrammarMatcher, NegatedClassPartialCharacterFollowsLlamaCpp) {
  // A partial character is refused by a negated class when the class meets the range
  // it could complete to, even if other completions would be allowed (llama.cpp's rule).
  Matcher m(parse(R"(root ::= [^é])"));
  EXPECT_FALSE(m.allows("\xC3"));      // U+00C0..U+00FF contains é
  EXPECT_TRUE(m.allows("\xC3\xA8"));   // but the complete è is allowed
  EXPECT_TRUE(m.allows("\xC4"));       // U+0100..U+013F does not contain é
}

TEST(GrammarMatcher, AmbiguityIsBounded) {
  // Four parses stay alive after "a"; a matcher limited to 3 refuses the grammar.
  const std::string g = "root ::= x x x x\nx ::= \"a\"?";
  EXPECT_THROW(Matcher(parse(g), 3), Error);
  Matcher ok(parse(g));
  EXPECT_TRUE(ok.accept("aaaa"));
  EXPECT_TRUE(ok.must_end());
}

TEST(GrammarMatcher, LaterMatchersOfAGrammarStartWarmAndDecideTheSame) {
  auto g = shared_gbnf(R"(root ::= "{" ("\"" [a-z]{0,6} "\"" ("," "\"" [a-z]{0,6} "\"")*)? "}")");
  EXPECT_EQ(shared_gbnf(R"(root ::= "{" ("\"" [a-z]{0,6} "\"" ("," "\"" [a-z]{0,6} "\"")*)? "}")"), g);  // cached
  const std::vector<std::string> probes = {"{", "{\"ab", "{\"abcdefg", "{\"a\",\"b\"}", "{}", "{\"\",", "x"};
  std::vector<bool> cold;
  size_t cold_states = 0;
  {
    Matcher m(g);
    cold_states = m.states();
    for (const auto& p : probes) cold.push_back(m.allows(p));
    EXPECT_TRUE(m.accept("{\"abc\",\"de\"}"));
    EXPECT_TRUE(m.must_end());
  }  // publishes its tables to g
  Matcher warm(g);
  EXPECT_GT(warm.states(), cold_states);
  for (size_t i = 0; i < probes.size(); ++i) EXPECT_EQ(warm.allows(probes[i]), cold[i]) << probes[i];
  EXPECT_TRUE(warm.accept("{\"abc\",\"de\"}"));
  EXPECT_TRUE(warm.must_end());
}

TEST(GrammarMatcher, VocabularyMaskEqualsTokenByTokenChecks) {
  auto tok = Tokenizer::from_vocab(builtin_byte_vocab());
  TokenTrie trie(*tok);
  // Each grammar with a prefix accepted first (the string ones are then inside a string,
  // where whole plain-text subtrees of the trie are admitted at once).
  for (const auto& [g, prefix] : std::vector<std::pair<std::string, std::string>>{
           {R"(root ::= [a-z ]+ "." )", ""}, {R"(root ::= "<think>" | "the" [^e]*)", ""},
           {R"(root ::= [0-9]{1,3} ("," [0-9]{3})*)", ""}, {"root ::= [\\u0080-\\U0010FFFF]+", ""},
           {R"(root ::= "\"" [^"\\]* "\"" [ ]?)", "\"ab"}, {R"(root ::= "{\"k\": \"" [^"]{0,5} "\"}")", "{\"k\": \"x"},
           {R"(root ::= ([^"\\] | "\\" .)* "!")", "a\\"}}) {
    Matcher m(parse(g));
    ASSERT_TRUE(prefix.empty() || m.accept(prefix)) << g;
    std::vector<uint8_t> mask;
    m.allowed_tokens(trie, mask);
    ASSERT_EQ(mask.size(), static_cast<size_t>(tok->n_vocab()));
    int allowed = 0;
    for (int32_t id = 0; id < tok->n_vocab(); ++id) {
      const bool expect = !tok->is_eog(id) && m.allows(tok->token_bytes(id));
      EXPECT_EQ(mask[static_cast<size_t>(id)] != 0, expect) << g << " token " << id;
      allowed += expect;
    }
    EXPECT_GT(allowed, 0) << g;
  }
}

}  // namespace
}  // namespace r1::grammar
