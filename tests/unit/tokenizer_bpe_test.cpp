// BPE merging, added tokens, BOS rule and decoding on a small handmade
// vocabulary; every expected id list was worked out by hand (comments show how).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "base/error.hpp"
#include "base/log.hpp"
#include "tokenizer/bpe.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace r1;
using namespace r1::tok;
using Ids = std::vector<int32_t>;

namespace {

// Ids 0..255: the byte tokens (id == byte value). Then the merges below, whose
// results get ids 256.. in order, then added tokens.
VocabData small_vocab(std::string pre = "qwen2") {
  VocabData v;
  v.pre = pre;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_level::encode(std::string(1, char(b))));
  const char* merges[] = {
      "Ġ t",    // 256 "Ġt"   rank 0
      "h e",    // 257 "he"   rank 1
      "Ġt he",  // 258 "Ġthe" rank 2
      "l o",    // 259 "lo"   rank 3
      "lo w",   // 260 "low"  rank 4
      "e r",    // 261 "er"   rank 5
      "Ġ low",  // 262 "Ġlow" rank 6
      "a a",    // 263 "aa"   rank 7
      "Ã ©",    // 264 "Ã©" (the two bytes of 'é') rank 8
  };
  for (const char* m : merges) {
    std::string s(m);
    const size_t sp = s.find(' ');
    v.merges.push_back(s);
    v.tokens.push_back(s.substr(0, sp) + s.substr(sp + 1));
  }
  v.types.assign(v.tokens.size(), TokenType::normal);
  const auto add = [&](const char* t, TokenType type) {
    v.tokens.push_back(t);
    v.types.push_back(type);
  };
  add("<|bos|>", TokenType::control);       // 265
  add("<|eos|>", TokenType::control);       // 266
  add("<think>", TokenType::user_defined);  // 267
  add("<th", TokenType::user_defined);      // 268
  add("<|im_end|>", TokenType::control);    // 269
  v.bos = 265;
  v.eos = 266;
  v.add_bos = true;
  return v;
}

Ids enc(const Tokenizer& t, std::string_view s, bool bos = false, bool special = true) {
  return t.encode(s, bos, special);
}

}  // namespace

TEST(TokenizerBpe, MergesByRank) {
  auto t = Tokenizer::from_vocab(small_vocab());
  // "the": t h e -> (h,e) rank 1 -> t he; (t,he) has no merge.
  EXPECT_EQ(enc(*t, "the"), (Ids{'t', 257}));
  // " the": Ġ t h e -> (Ġ,t) r0 -> Ġt h e -> (h,e) r1 -> Ġt he -> (Ġt,he) r2 -> Ġthe.
  EXPECT_EQ(enc(*t, " the"), (Ids{258}));
  // " lower": (l,o) r3, then (lo,w) r4, then (e,r) r5, then (Ġ,low) r6.
  EXPECT_EQ(enc(*t, " lower"), (Ids{262, 261}));
  // Equal ranks: leftmost first. aaa -> aa a; aaaa -> aa aa; aaaaa -> aa aa a.
  EXPECT_EQ(enc(*t, "aaa"), (Ids{263, 'a'}));
  EXPECT_EQ(enc(*t, "aaaa"), (Ids{263, 263}));
  EXPECT_EQ(enc(*t, "aaaaa"), (Ids{263, 263, 'a'}));
  // Multi-byte characters: 'é' = C3 A9 merges to 264; 'ü' = C3 BC stays two bytes.
  EXPECT_EQ(enc(*t, "\xC3\xA9\xC3\xBC"), (Ids{264, 0xC3, 0xBC}));
  // Pre-tokenizer pieces are merged separately: "the the" = [the][ the].
  EXPECT_EQ(enc(*t, "the the"), (Ids{'t', 257, 258}));
  EXPECT_EQ(enc(*t, ""), Ids{});
}

TEST(TokenizerBpe, MergerDirect) {
  std::vector<int32_t> bytes(256);
  for (int b = 0; b < 256; ++b) bytes[b] = b;
  BpeMerger m(bytes, -1);
  m.add('a', 'b', 300, 5);
  m.add('b', 'c', 301, 1);
  m.add('a', 'b', 302, 0);  // duplicate pair: ignored, first registration wins
  EXPECT_EQ(m.n_merges(), 2u);
  BpeMerger::Scratch sc;
  Ids out;
  m.encode_word("abc", &out, sc);  // (b,c) rank 1 beats (a,b) rank 5
  EXPECT_EQ(out, (Ids{'a', 301}));
  out.clear();
  m.encode_word("abab", &out, sc);
  EXPECT_EQ(out, (Ids{300, 300}));
  EXPECT_EQ(m.find('a', 'b').result, 300);
  EXPECT_EQ(m.find('c', 'a').rank, -1);
}

TEST(TokenizerBpe, LongWordIsFast) {
  auto t = Tokenizer::from_vocab(small_vocab());
  // 200k identical bytes form one piece: must be near-linear, not quadratic.
  const std::string s(200000, 'a');
  const Ids ids = enc(*t, s);
  ASSERT_EQ(ids.size(), 100000u);
  EXPECT_EQ(ids.front(), 263);
  const std::string spaces(100000, ' ');
  EXPECT_EQ(t->decode(enc(*t, spaces + "x" + spaces)), spaces + "x" + spaces);
}

TEST(TokenizerBpe, AddedTokens) {
  auto t = Tokenizer::from_vocab(small_vocab());
  // Longest match: "<think>" beats "<th"; "<th" alone still matches.
  EXPECT_EQ(enc(*t, "<think>the"), (Ids{267, 't', 257}));
  EXPECT_EQ(enc(*t, "<thx"), (Ids{268, 'x'}));
  // Control tokens only with parse_special; user-defined ones always.
  EXPECT_EQ(enc(*t, "a<|im_end|>", false, true), (Ids{'a', 269}));
  const Ids plain = enc(*t, "<|im_end|>", false, false);
  EXPECT_EQ(t->decode(plain), "<|im_end|>");
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 269), 0);
  EXPECT_EQ(enc(*t, "<think>", false, false), (Ids{267}));
  EXPECT_EQ(t->find_token("<think>"), 267);
  EXPECT_EQ(t->find_token("Ġthe"), 258);
  EXPECT_EQ(t->find_token("nope"), -1);
}

TEST(TokenizerBpe, BosRule) {
  auto t = Tokenizer::from_vocab(small_vocab());
  EXPECT_EQ(enc(*t, "the", true), (Ids{265, 't', 257}));
  EXPECT_EQ(enc(*t, "the", false), (Ids{'t', 257}));
  // The text already starts with BOS: not added twice.
  EXPECT_EQ(enc(*t, "<|bos|>the", true), (Ids{265, 't', 257}));
  // Model says no BOS: add_bos has no effect.
  VocabData v = small_vocab();
  v.add_bos = false;
  v.add_eos = true;
  auto t2 = Tokenizer::from_vocab(v);
  EXPECT_EQ(t2->encode("the", true, true), (Ids{'t', 257, 266}));
}

TEST(TokenizerBpe, DecodeAndStream) {
  auto t = Tokenizer::from_vocab(small_vocab());
  EXPECT_EQ(t->decode({265, 258, 262, 261, 267}), "<|bos|> the lower<think>");
  EXPECT_EQ(t->token_bytes(' '), " ");
  EXPECT_THROW(t->token_bytes(270), Error);
  EXPECT_THROW(t->token_bytes(-1), Error);
  // 'é' as two byte tokens: nothing until the character completes.
  Tokenizer::StreamDecoder sd(*t);
  EXPECT_EQ(sd.push('a'), "a");
  EXPECT_EQ(sd.push(0xC3), "");
  EXPECT_EQ(sd.push(0xA9), "\xC3\xA9");
  // 4-byte emoji byte by byte.
  EXPECT_EQ(sd.push(0xF0), "");
  EXPECT_EQ(sd.push(0x9F), "");
  EXPECT_EQ(sd.push(0x98), "");
  EXPECT_EQ(sd.push(0x80), "\xF0\x9F\x98\x80");
  // An invalid byte is replaced at once; a dangling lead byte at flush().
  EXPECT_EQ(sd.push(0xFF), "\xEF\xBF\xBD");
  EXPECT_EQ(sd.push(0xE2), "");
  EXPECT_EQ(sd.push('x'), "\xEF\xBF\xBDx");
  EXPECT_EQ(sd.push(0xE2), "");
  EXPECT_EQ(sd.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(sd.flush(), "");
}

TEST(TokenizerBpe, InvalidUtf8BecomesReplacementChar) {
  auto t = Tokenizer::from_vocab(small_vocab());
  // U+FFFD is EF BF BD: three byte tokens here.
  EXPECT_EQ(enc(*t, "a\xFF"), (Ids{'a', 0xEF, 0xBF, 0xBD}));
  EXPECT_EQ(t->decode(enc(*t, "x\xE2\x82y")), "x\xEF\xBF\xBDy");
}

TEST(TokenizerBpe, Eog) {
  auto t = Tokenizer::from_vocab(small_vocab());
  EXPECT_TRUE(t->is_eog(266));   // eos
  EXPECT_TRUE(t->is_eog(269));   // <|im_end|> by its text
  EXPECT_FALSE(t->is_eog(265));
  EXPECT_FALSE(t->is_eog(-5));
  EXPECT_FALSE(t->is_eog(100000));
}

TEST(TokenizerBpe, BadVocabularies) {
  {
    VocabData v = small_vocab("no-such-pre");
    try {
      Tokenizer::from_vocab(v);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("no-such-pre"), std::string::npos);
    }
  }
  {
    VocabData v = small_vocab();
    v.model = "llama";
    EXPECT_THROW(Tokenizer::from_vocab(v), Error);
  }
  {
    VocabData v = small_vocab();
    v.merges.push_back("nospace");  // no space between two parts: a broken file
    try {
      Tokenizer::from_vocab(v);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("'nospace'"), std::string::npos) << e.what();
    }
  }
  {
    VocabData v = small_vocab();
    v.bos = 9999;
    EXPECT_THROW(Tokenizer::from_vocab(v), Error);
  }
  {
    VocabData v = small_vocab();
    v.types.pop_back();
    EXPECT_THROW(Tokenizer::from_vocab(v), Error);
  }
  {
    VocabData v = small_vocab();
    v.tokens.clear();
    v.types.clear();
    EXPECT_THROW(Tokenizer::from_vocab(v), Error);
  }
}

TEST(TokenizerBpe, MergesOutsideTheVocabularyAreSkipped) {
  // Three merges that cannot yield a token: right part, left part and result
  // missing. "o w" comes first (rank 0): were it applied, "low" could not form.
  VocabData v = small_vocab();
  v.merges.insert(v.merges.begin(), "o w");  // "ow" is not a token
  v.merges.push_back("x zz");                // "zz" is not a token
  v.merges.push_back("zz x");
  const LogLevel saved = log_level();
  set_log_level(LogLevel::warn);
  testing::internal::CaptureStderr();
  std::unique_ptr<Tokenizer> t;
  ASSERT_NO_THROW(t = Tokenizer::from_vocab(v));
  const std::string err = testing::internal::GetCapturedStderr();
  set_log_level(saved);
  // One warning line for all of them, with the count and the first one.
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("3 of 12 merges skipped"), std::string::npos) << err;
  EXPECT_NE(err.find("'o w'"), std::string::npos) << err;
  // Never applied: the other merges work as before.
  EXPECT_EQ(enc(*t, " lower"), (Ids{262, 261}));
  EXPECT_EQ(enc(*t, "ow"), (Ids{'o', 'w'}));
  EXPECT_EQ(enc(*t, "xzzx"), (Ids{'x', 'z', 'z', 'x'}));
  EXPECT_EQ(enc(*t, "the"), (Ids{'t', 257}));
}

TEST(TokenizerBpe, BuiltinVocab) {
  const VocabData v = builtin_byte_vocab();
  EXPECT_EQ(v.pre, "deepseek-r1-qwen");
  EXPECT_EQ(v.tokens.size(), 256u + v.merges.size() + 6u);
  EXPECT_GE(v.merges.size(), 300u);
  std::set<std::string> uniq(v.tokens.begin(), v.tokens.end());
  EXPECT_EQ(uniq.size(), v.tokens.size());
  auto t = Tokenizer::from_vocab(v);
  EXPECT_EQ(t->find_token("<｜begin▁of▁sentence｜>"), v.bos);
  EXPECT_EQ(t->find_token("<｜end▁of▁sentence｜>"), v.eos);
  EXPECT_TRUE(t->is_eog(v.eos));
  // The first merges are "Ġ t", "Ġ Ġ", "Ġ a", "Ġt h", "e r", "o r", "o n", "i n",
  // "Ġth e" (ids 256..264): " the" goes Ġ t h e -> Ġt h e -> Ġth e -> Ġthe.
  EXPECT_EQ(v.merges[8], "Ġth e");
  EXPECT_EQ(t->encode(" the", false, true), (Ids{264}));
  const std::string text = "<｜User｜>What is 6 * 7?<｜Assistant｜><think>\nIt is 42.</think>The answer is 42.";
  const Ids ids = t->encode(text, true, true);
  EXPECT_EQ(ids.front(), v.bos);
  EXPECT_EQ(ids[1], t->find_token("<｜User｜>"));
  EXPECT_EQ(t->decode(ids), "<｜begin▁of▁sentence｜>" + text);
  EXPECT_LT(ids.size(), text.size() * 2 / 3);  // the merges do compress English
}

TEST(TokenizerBpe, ConcurrentEncodeIsSafe) {
  // encode() is const and keeps its state per call (and per thread for PCRE2).
  auto t = Tokenizer::from_vocab(builtin_byte_vocab());
  std::string text;
  for (int i = 0; i < 200; ++i) text += "The answer to question " + std::to_string(i) + " is \xE4\xB8\xAD " + "<think>ok</think>\n";
  const Ids want = t->encode(text, true, true);
  std::vector<Ids> got(4);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int rep = 0; rep < 20; ++rep) got[k] = t->encode(text, true, true);
    });
  for (auto& th : threads) th.join();
  for (const Ids& g : got) EXPECT_EQ(g, want);
  EXPECT_EQ(t->decode(want), "<｜begin▁of▁sentence｜>" + text);
}

// The word cache kept across calls (per thread, per tokenizer) never hands one
// tokenizer's ids to another: two tokenizers whose vocabularies merge " the"
// differently, used alternately on one thread, each keep their own hand-checked ids,
// and a tokenizer created at the address of a destroyed one starts clean.
TEST(TokenizerBpe, WordCacheIsPerTokenizer) {
  VocabData other = small_vocab();
  other.merges.resize(1);  // only "Ġ t" (rank 0): " the" -> Ġt h e
  auto a = Tokenizer::from_vocab(small_vocab());
  auto b = Tokenizer::from_vocab(std::move(other));
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(enc(*a, " the the"), (Ids{258, 258})) << round;
    EXPECT_EQ(enc(*b, " the the"), (Ids{256, 'h', 'e', 256, 'h', 'e'})) << round;
  }
  for (int round = 0; round < 3; ++round) {
    auto c = Tokenizer::from_vocab(round % 2 ? small_vocab() : [] {
      VocabData v = small_vocab();
      v.merges.resize(1);
      return v;
    }());
    EXPECT_EQ(enc(*c, " the"), round % 2 ? (Ids{258}) : (Ids{256, 'h', 'e'})) << round;
  }
}
