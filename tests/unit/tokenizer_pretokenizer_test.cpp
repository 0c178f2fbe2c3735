// Pre-tokenizer splits, checked by hand against the regex alternatives.
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "tokenizer/pretokenizer.hpp"

using namespace r1;
using namespace r1::tok;
using Pieces = std::vector<std::string>;

namespace {
Pieces split(const char* pre, std::string_view text) {
  auto p = PreTokenizer::create(pre);
  std::vector<Span> spans;
  p->split(text, 0, &spans);
  Pieces out;
  uint32_t at = 0;
  for (const Span& s : spans) {
    EXPECT_EQ(s.begin, at);  // pieces tile the text
    EXPECT_LT(s.begin, s.end);
    at = s.end;
    out.emplace_back(text.substr(s.begin, s.end - s.begin));
  }
  EXPECT_EQ(at, text.size());
  return out;
}
}  // namespace

TEST(TokenizerPre, Qwen2) {
  // "'s" is a contraction; " 1" cannot join (a space only prefixes letters and
  // punctuation), digits are single; of two spaces before a word the first is
  // the \s+(?!\S) piece; "\n\n" is \s*[\r\n]+.
  EXPECT_EQ(split("qwen2", "Hello world's 123  foo\n\nbar"),
            (Pieces{"Hello", " world", "'s", " ", "1", "2", "3", " ", " foo", "\n\n", "bar"}));
  EXPECT_EQ(split("deepseek-r1-qwen", "DON'T 'Ll"), (Pieces{"DON", "'T", " '", "Ll"}));
  // Punctuation run with trailing newlines; a letter after punctuation.
  // A single non-letter (here '+', '\t') may prefix a word.
  EXPECT_EQ(split("qwen2", "x = (a+b);\r\n\ty"), (Pieces{"x", " =", " (", "a", "+b", ");\r\n", "\ty"}));
  // Letters of any script; 'ſ' does not make a contraction.
  EXPECT_EQ(split("qwen2", "'ſ"), (Pieces{"'ſ"}));
}

TEST(TokenizerPre, Llama3DigitsInThrees) {
  EXPECT_EQ(split("llama-bpe", "x 1234567"), (Pieces{"x", " ", "123", "456", "7"}));
}

TEST(TokenizerPre, DeepSeekV3Sequence) {
  // Stage 1 isolates digit groups of up to three, stage 2 CJK/kana runs, stage 3
  // words, each applied inside the pieces of the previous stage.
  EXPECT_EQ(split("deepseek-v3", "abc123456789x 中文字 かな"),
            (Pieces{"abc", "123", "456", "789", "x", " ", "中文字", " ", "かな"}));
  // Punctuation followed by ASCII letters is one piece, but " @" is tried at the
  // space, where the punctuation-run alternative wins; the space before digits
  // stays alone (digits were isolated first).
  EXPECT_EQ(split("deepseek-v3", "a.b @foo 12"), (Pieces{"a", ".b", " @", "foo", " ", "12"}));
  // Letters with combining marks stay together.
  EXPECT_EQ(split("deepseek-v3", "e\xCC\x81t\xC3\xA9"), (Pieces{"e\xCC\x81t\xC3\xA9"}));
}

TEST(TokenizerPre, DeepSeekLlmSequence) {
  // [\r\n] first; then \s?letters (the cased-letter class), \s?punctuation,
  // \s+$, CJK/Hangul runs and number runs, each inside the previous pieces.
  EXPECT_EQ(split("deepseek-llm", "Hello, world!\r\n"), (Pieces{"Hello", ",", " world", "!", "\r", "\n"}));
  // " 123  " is left by the letter and punctuation stages; \s+$ takes its
  // trailing run, then \p{N}+ the digits.
  EXPECT_EQ(split("deepseek-llm", "abc 123  "), (Pieces{"abc", " ", "123", "  "}));
  // \s+$ splits only white space at the end of a piece.
  EXPECT_EQ(split("deepseek-llm", "1  2"), (Pieces{"1", "  ", "2"}));
  EXPECT_EQ(split("deepseek-llm", "1  2 "), (Pieces{"1", "  ", "2", " "}));
  EXPECT_EQ(split("deepseek-llm", "\xF0\x9F\x98\x80  "), (Pieces{"\xF0\x9F\x98\x80", "  "}));  // 😀
  // One white space (here U+00A0) may lead a letter run; a plain space before it stays.
  EXPECT_EQ(split("deepseek-llm", " \xC2\xA0" "abc"), (Pieces{" ", "\xC2\xA0" "abc"}));
  // The letter class is not \p{L}: U+0294 'ʔ' and Hebrew are outside it; Cyrillic,
  // U+01C5 'ǅ' and fullwidth Latin are inside.
  EXPECT_EQ(split("deepseek-llm", "a\xCA\x94" "b"), (Pieces{"a", "\xCA\x94", "b"}));
  EXPECT_EQ(split("deepseek-llm", "\xD0\x9F\xD1\x80\xD0\xB8 \xD0\xBC\xD0\xB8\xD1\x80"),  // При мир
            (Pieces{"\xD0\x9F\xD1\x80\xD0\xB8", " \xD0\xBC\xD0\xB8\xD1\x80"}));
  // ... but the punctuation class takes ASCII ':'..'~' and fullwidth U+FF1A..U+FF5E,
  // letters included: inside the letter piece "ǅemal" it splits off "emal"; " ＡＢ"
  // stays whole.
  EXPECT_EQ(split("deepseek-llm", "\xC7\x85" "emal \xEF\xBC\xA1\xEF\xBC\xA2"),  // ǅemal ＡＢ
            (Pieces{"\xC7\x85", "emal", " \xEF\xBC\xA1\xEF\xBC\xA2"}));
  // Fullwidth digits are numbers, not punctuation: one \p{N}+ run.
  EXPECT_EQ(split("deepseek-llm", "x\xEF\xBC\x91\xEF\xBC\x92"), (Pieces{"x", "\xEF\xBC\x91\xEF\xBC\x92"}));
  // Kana lie in U+0800..U+4E00: one CJK run with the ideographs.
  EXPECT_EQ(split("deepseek-llm", "\xE3\x81\x8B\xE4\xB8\xAD"), (Pieces{"\xE3\x81\x8B\xE4\xB8\xAD"}));  // か中
}

TEST(TokenizerPre, DeepSeekLlmWhiteSpaceInsideRanges) {
  // U+3000 lies in the CJK range U+0800..U+4E00 and in the punctuation range
  // U+3000..U+3002, but llama.cpp matched those classes on text where it had
  // become U+000B: it is never part of a class run, only of a \s.
  const std::string ideo_sp = "\xE3\x80\x80", stop = "\xE3\x80\x82";  // U+3000, U+3002
  EXPECT_EQ(split("deepseek-llm", "\xE4\xB8\xAD" + ideo_sp + "\xE6\x96\x87"),  // 中　文
            (Pieces{"\xE4\xB8\xAD", ideo_sp, "\xE6\x96\x87"}));
  // "!　！": U+3000 is the \s of "\s?punctuation", not part of the run.
  EXPECT_EQ(split("deepseek-llm", "!" + ideo_sp + "\xEF\xBC\x81"), (Pieces{"!", ideo_sp + "\xEF\xBC\x81"}));
  // "。" (U+3002) is punctuation and, later, CJK (U+0800..U+4E00): "　。" from the
  // punctuation stage is split again by the CJK stage.
  EXPECT_EQ(split("deepseek-llm", "a" + ideo_sp + stop), (Pieces{"a", ideo_sp, stop}));
  EXPECT_EQ(split("deepseek-llm", stop + ideo_sp + stop), (Pieces{stop, ideo_sp, stop}));
  // U+2003 and U+1680 inside the U+0800..U+4E00 range, between Hangul.
  EXPECT_EQ(split("deepseek-llm", "\xED\x95\x9C\xE2\x80\x83\xEA\xB5\xAD"),  // 한 U+2003 국
            (Pieces{"\xED\x95\x9C", "\xE2\x80\x83", "\xEA\xB5\xAD"}));
  EXPECT_EQ(split("deepseek-llm", "\xE4\xB8\xAD\xE1\x9A\x80\xE4\xB8\xAD"),  // 中 U+1680 中
            (Pieces{"\xE4\xB8\xAD", "\xE1\x9A\x80", "\xE4\xB8\xAD"}));
  // U+200B (zero width space) is not white space: inside the CJK run.
  EXPECT_EQ(split("deepseek-llm", "\xE4\xB8\xAD\xE2\x80\x8B\xE4\xB8\xAD"),
            (Pieces{"\xE4\xB8\xAD\xE2\x80\x8B\xE4\xB8\xAD"}));
}

TEST(TokenizerPre, DeepSeekCoderSequence) {
  EXPECT_EQ(split("deepseek-coder", "def f(x):\r\n  return 10"),
            (Pieces{"def", " f", "(", "x", "):", "\r", "\n", " ", " return", " ", "1", "0"}));
  // CJK characters are letters: the letter stage keeps "中文abc" together, the
  // CJK stage then splits off the ideographs.
  EXPECT_EQ(split("deepseek-coder", "\xE4\xB8\xAD\xE6\x96\x87" "abc"), (Pieces{"\xE4\xB8\xAD\xE6\x96\x87", "abc"}));
  // U+3000 leads "文" in the letter stage, then falls out of the CJK run.
  EXPECT_EQ(split("deepseek-coder", "\xE4\xB8\xAD\xE3\x80\x80\xE6\x96\x87"),
            (Pieces{"\xE4\xB8\xAD", "\xE3\x80\x80", "\xE6\x96\x87"}));
  // \p{P} (not symbols): '¿' and '?' are punctuation, '+' and '$' are not.
  EXPECT_EQ(split("deepseek-coder", "\xC2\xBFQu\xC3\xA9?"), (Pieces{"\xC2\xBF", "Qu\xC3\xA9", "?"}));
  EXPECT_EQ(split("deepseek-coder", "a +b $"), (Pieces{"a", " +", "b", " $"}));
  // Digits one by one, any script.
  EXPECT_EQ(split("deepseek-coder", "x12\xD9\xA3\xD9\xA4"), (Pieces{"x", "1", "2", "\xD9\xA3", "\xD9\xA4"}));
}

TEST(TokenizerPre, Qwen35LettersTakeMarks) {
  // "nai" + U+0308 + "ve": qwen2 starts a new piece at the mark, qwen35 keeps it.
  EXPECT_EQ(split("qwen2", "nai\xCC\x88ve"), (Pieces{"nai", "\xCC\x88ve"}));
  EXPECT_EQ(split("qwen35", "nai\xCC\x88ve"), (Pieces{"nai\xCC\x88ve"}));
  EXPECT_EQ(split("qwen35", "I'm 12!\xCC\x81"), (Pieces{"I", "'m", " ", "1", "2", "!\xCC\x81"}));
}

TEST(TokenizerPre, AliasesAndCanonicalNames) {
  const std::pair<const char*, const char*> cases[] = {
      {"deepseek-r1-qwen", "qwen2"}, {"megrez", "qwen2"},       {"llama3", "llama-bpe"},
      {"falcon3", "llama-bpe"},      {"pixtral", "llama-bpe"},   {"hunyuan-dense", "deepseek-v3"},
      {"deepseek-llm", "deepseek-llm"}, {"deepseek-coder", "deepseek-coder"}, {"qwen35", "qwen35"}};
  for (const auto& [alias, canonical] : cases) {
    EXPECT_EQ(PreTokenizer::canonical_name(alias), canonical) << alias;
    EXPECT_EQ(PreTokenizer::create(alias)->name(), canonical) << alias;
  }
  EXPECT_EQ(PreTokenizer::canonical_name("deepseek3-llm"), "");  // llama.cpp's enum name, not a GGUF name
  // An alias splits exactly like its canonical name.
  const std::string text = "DeepSeek-V3: 12345 \xE4\xB8\xAD\xE6\x96\x87!  \n";
  EXPECT_EQ(split("joyai-llm", text), split("deepseek-v3", text));
  EXPECT_EQ(split("lfm2", text), split("llama-bpe", text));
}

TEST(TokenizerPre, Gpt2AndDefault) {
  EXPECT_EQ(split("gpt-2", "I'm here  now"), (Pieces{"I", "'m", " here", " ", " now"}));
  EXPECT_EQ(split("gpt2", "abc 12"), (Pieces{"abc", " 12"}));
  // llama.cpp "default": punctuation runs, then GPT-2, then digit runs, then
  // groups of three ASCII digits.
  EXPECT_EQ(split("default", "a,b 1234"), (Pieces{"a", ",", "b", " ", "123", "4"}));
}

TEST(TokenizerPre, WhitespaceIsUnicodeWhiteSpace) {
  // U+00A0 and U+3000 are white space; U+180E and U+FEFF are not.
  EXPECT_EQ(split("qwen2", "a\xC2\xA0\xC2\xA0" "b"), (Pieces{"a", "\xC2\xA0", "\xC2\xA0" "b"}));
  EXPECT_EQ(split("qwen2", "a\xE3\x80\x80"), (Pieces{"a", "\xE3\x80\x80"}));
  EXPECT_EQ(split("qwen2", "a\xEF\xBB\xBF" "b"), (Pieces{"a", "\xEF\xBB\xBF" "b"}));
  EXPECT_EQ(split("qwen2", "a\xC2\x85\xC2\x85"), (Pieces{"a", "\xC2\x85\xC2\x85"}));
}

TEST(TokenizerPre, UnknownNameIsAnError) {
  try {
    PreTokenizer::create("gpt-5");
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("gpt-5"), std::string::npos);
    // The message lists the known names.
    for (const char* n : {"deepseek-llm", "deepseek-coder", "deepseek-v3", "qwen35", "llama3", "default"})
      EXPECT_NE(msg.find(n), std::string::npos) << n;
  }
}

TEST(TokenizerPre, LongRunsAreLinear) {
  // 256 KB of whitespace / punctuation / digits must not blow the JIT stack.
  for (const char* pre : {"qwen2", "qwen35", "deepseek-v3", "deepseek-llm", "deepseek-coder", "llama-bpe", "gpt-2",
                          "default"}) {
    for (std::string c : {" ", "!", "7", "\n", "\x01", "\xE4\xB8\xAD", "\xE3\x80\x80", "\xE3\x80\x82"}) {
      std::string s;
      for (size_t n = 0; n < (size_t(1) << 18) / c.size(); ++n) s += c;
      s += (c == " " ? "1" : "end");  // spaces then a digit: no stage takes the run
      auto p = PreTokenizer::create(pre);
      std::vector<Span> spans;
      p->split(s, 0, &spans);
      ASSERT_FALSE(spans.empty());
      EXPECT_EQ(spans.back().end, s.size());
    }
  }
}
