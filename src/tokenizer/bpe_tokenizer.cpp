#include "tokenizer/bpe_tokenizer.hpp"

#include <algorithm>
#include <span>
#include <atomic>
#include <cassert>

#include "base/error.hpp"
#include "base/log.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/unicode_nfc.hpp"
#include "tokenizer/utf8.hpp"

namespace r1::tok {
namespace {

// Texts of control / user-defined tokens that end a generation (besides the
// eos and eot ids), as llama.cpp recognises them.
// Texts of end-of-generation tokens, as llama.cpp (llama-vocab.cpp, the version
// node-llama-cpp 3.21.1 bundles) marks them, whatever the token's type: the turn and
// text ends of the families it knows, and the fill-in-the-middle pad / repository /
// file-separator tokens (for each of the three kinds, the first of its texts found).
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<｜end▁of▁sentence｜>", "[e~[", "<|EOT|>",
};
constexpr std::string_view kFimPadTexts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"};
constexpr std::string_view kFimRepTexts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"};
constexpr std::string_view kFimSepTexts[] = {"<|file_sep|>"};

bool is_special_type(TokenType t) { return t == TokenType::control || t == TokenType::user_defined; }

// Pre-tokenized pieces this thread has already merged, with their ids, kept across
// encode() calls (as Hugging Face tokenizers and transformers.js keep theirs): a piece's
// BPE result never changes, and prompts repeat most of their words (chat templates,
// system prompts, multi-turn history). Per thread, so no locking; it holds the pieces of
// one tokenizer at a time (`owner`, BpeTokenizer::instance_) and is cleared when another
// one uses the thread, or when it reaches kMaxPieces pieces or kMaxIds ids.
struct WordCache {
  static constexpr size_t kMaxPieces = 1 << 14, kMaxIds = 1 << 18;  // at most a few MB per thread
  static constexpr size_t kMaxPieceBytes = 256;  // longer pieces are merged every time
  uint64_t owner = 0;
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, StringHash, std::equal_to<>> pieces;  // -> (offset, count)
  std::vector<int32_t> ids;

  void claim(uint64_t who) {
    if (owner == who && pieces.size() < kMaxPieces && ids.size() < kMaxIds) return;
    owner = who;
    pieces.clear();
    ids.clear();
  }
};
thread_local WordCache t_words;
std::atomic<uint64_t> g_instances{0};

}  // namespace

struct BpeTokenizer::Session {
  std::vector<int32_t>* out = nullptr;
  std::vector<Span> spans;
  BpeMerger::Scratch scratch;
  std::deque<std::string> owned;  // normalized segments (deque: elements never move)
};

BpeTokenizer::BpeTokenizer(VocabData v, const HfExtras& extras)
    : vocab_(std::move(v)), nfc_(extras.nfc), instance_(++g_instances) {
  const size_t n = vocab_.tokens.size();
  if (vocab_.model != "gpt2")
    fail("unsupported tokenizer model '{}' (tokenizer.ggml.model): only 'gpt2' (byte-level BPE) is supported",
         vocab_.model);
  if (n == 0) fail("tokenizer vocabulary is empty (tokenizer.ggml.tokens)");
  if (n >= (1u << 31)) fail("tokenizer vocabulary too large: {} tokens", n);
  if (vocab_.types.empty()) vocab_.types.assign(n, TokenType::normal);
  if (vocab_.types.size() != n)
    fail("tokenizer.ggml.token_type has {} entries but there are {} tokens", vocab_.types.size(), n);
  for (size_t i = 0; i < n; ++i) {
    const auto t = static_cast<int32_t>(vocab_.types[i]);
    if (t < 0 || t > 6) fail("token {} has an invalid token type {}", i, t);
  }
  const auto check_id = [&](int32_t id, const char* what) {
    if (id < -1 || id >= static_cast<int32_t>(n))
      fail("{} token id {} is out of range (vocabulary has {} tokens)", what, id, n);
  };
  check_id(vocab_.bos, "bos");
  check_id(vocab_.eos, "eos");
  check_id(vocab_.eot, "eot");
  check_id(vocab_.pad, "padding");
  check_id(vocab_.unk, "unknown");

  pre_ = PreTokenizer::create(vocab_.pre);
  ignore_merges_ = extras.ignore_merges >= 0 ? extras.ignore_merges != 0 : pre_->name() == "llama-bpe";

  // Token texts, raw bytes, and the added tokens matched verbatim in text.
  bytes_.resize(n);
  text_to_id_.reserve(n * 2);
  std::vector<AddedToken> added;
  for (size_t i = 0; i < n; ++i) {
    const std::string& t = vocab_.tokens[i];
    const auto id = static_cast<int32_t>(i);
    text_to_id_.emplace(t, id);
    if (is_special_type(vocab_.types[i])) {
      if (!utf8::is_valid(t)) fail("added token {} is not valid UTF-8", i);
      bytes_[i] = t;
      if (!t.empty()) added.push_back({t, id, vocab_.types[i] == TokenType::control});
    } else {
      bytes_[i] = byte_level::decode(t);
      if (ignore_merges_ && vocab_.types[i] == TokenType::normal) bytes_to_id_.emplace(bytes_[i], id);
    }
  }
  for (const auto& f : extras.added)
    for (auto& a : added)
      if (a.id == f.id) a.lstrip = f.lstrip, a.rstrip = f.rstrip, a.single_word = f.single_word;
  specials_ = std::make_unique<SpecialMatcher>(std::move(added));

  // The 256 byte symbols BPE starts from, and the merges.
  std::vector<int32_t> byte_ids(256, -1);
  for (int b = 0; b < 256; ++b) {
    std::string s;
    utf8::append(s, byte_level::byte_to_cp(static_cast<uint8_t>(b)));
    auto it = text_to_id_.find(s);
    if (it != text_to_id_.end()) byte_ids[b] = it->second;
  }
  bpe_ = std::make_unique<BpeMerger>(byte_ids, vocab_.unk);
  // A merge whose parts or result are not tokens is skipped (one warning for all
  // of them): it can never yield a token. A line without a separating space is
  // a broken file.
  std::string joined;
  size_t skipped = 0;
  std::string first_skipped;
  for (size_t r = 0; r < vocab_.merges.size(); ++r) {
    const std::string& m = vocab_.merges[r];
    const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
    if (sp == std::string::npos) fail("merge {} ('{}') is not of the form 'left right'", r, m);
    const std::string_view left(m.data(), sp), right(m.data() + sp + 1, m.size() - sp - 1);
    joined.assign(left).append(right);
    const auto l = text_to_id_.find(left), rr = text_to_id_.find(right),
               res = text_to_id_.find(joined);
    if (l == text_to_id_.end() || rr == text_to_id_.end() || res == text_to_id_.end()) {
      if (skipped++ == 0)
        first_skipped = fmt::format("merge {} ('{}'): {} is not in the vocabulary", r, m,
                                    l == text_to_id_.end()    ? "the left part"
                                    : rr == text_to_id_.end() ? "the right part"
                                                              : "the result");
      continue;
    }
    bpe_->add(l->second, rr->second, res->second, static_cast<int32_t>(r));
  }
  if (skipped > 0)
    log(LogLevel::warn, "tokenizer: {} of {} merges skipped (parts or result not in the vocabulary); first: {}",
        skipped, vocab_.merges.size(), first_skipped);

  eog_.assign(n, false);
  for (int32_t id : {vocab_.eos, vocab_.eot})
    if (id >= 0) eog_[id] = true;
  for (auto t : kEogTexts) {
    auto it = text_to_id_.find(t);
    if (it != text_to_id_.end()) eog_[it->second] = true;
  }
  for (auto texts : {std::span<const std::string_view>(kFimPadTexts), std::span<const std::string_view>(kFimRepTexts),
                     std::span<const std::string_view>(kFimSepTexts)}) {
    for (auto t : texts) {
      auto it = text_to_id_.find(t);
      if (it == text_to_id_.end()) continue;
      eog_[it->second] = true;
      break;
    }
  }
}

void BpeTokenizer::encode_plain(std::string_view text, Session& s) const {
  if (nfc_ && !nfc_quick_check(text)) {
    s.owned.push_back(nfc(text));
    text = s.owned.back();
  }
  s.spans.clear();
  pre_->split(text, 0, &s.spans);
  for (const Span& sp : s.spans) {
    const std::string_view piece = text.substr(sp.begin, sp.end - sp.begin);
    if (ignore_merges_) {
      auto it = bytes_to_id_.find(piece);
      if (it != bytes_to_id_.end()) {
        s.out->push_back(it->second);
        continue;
      }
    }
    if (piece.size() == 1 || piece.size() > WordCache::kMaxPieceBytes) {
      bpe_->encode_word(piece, s.out, s.scratch);
      continue;
    }
    WordCache& wc = t_words;
    wc.claim(instance_);
    if (auto it = wc.pieces.find(piece); it != wc.pieces.end()) {
      const auto [off, cnt] = it->second;
      s.out->insert(s.out->end(), wc.ids.begin() + off, wc.ids.begin() + off + cnt);
      continue;
    }
    const size_t before = s.out->size();
    bpe_->encode_word(piece, s.out, s.scratch);
    wc.pieces.emplace(std::string(piece), std::pair{uint32_t(wc.ids.size()), uint32_t(s.out->size() - before)});
    wc.ids.insert(wc.ids.end(), s.out->begin() + before, s.out->end());
  }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  std::string repaired;
  if (!utf8::is_valid(text)) {
    repaired = sanitize_utf8(text);
    text = repaired;
  }
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  Session s;
  s.out = &out;
  const bool want_bos = add_bos && vocab_.add_bos && vocab_.bos >= 0;
  if (want_bos) out.push_back(vocab_.bos);

  std::vector<SpecialMatcher::Segment> segs;
  specials_->split(text, parse_special, &segs);
  for (const auto& seg : segs) {
    if (seg.id >= 0) {
      out.push_back(seg.id);
    } else {
      encode_plain(text.substr(seg.begin, seg.end - seg.begin), s);
    }
  }
  // Never two BOS: the text itself may start with the BOS token.
  if (want_bos && out.size() >= 2 && out[1] == vocab_.bos) out.erase(out.begin());
  if (add_bos && vocab_.add_eos && vocab_.eos >= 0 && (out.empty() || out.back() != vocab_.eos))
    out.push_back(vocab_.eos);
  return out;
}

std::string BpeTokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= n_vocab()) fail("token id {} is out of range (vocabulary has {} tokens)", id, n_vocab());
  return bytes_[id];
}

bool BpeTokenizer::is_eog(int32_t id) const { return id >= 0 && id < n_vocab() && eog_[id]; }

int32_t BpeTokenizer::find_token(std::string_view text) const {
  auto it = text_to_id_.find(text);
  return it == text_to_id_.end() ? -1 : it->second;
}

}  // namespace r1::tok

// ---- Tokenizer base-class members -------------------------------------------

namespace r1 {

std::unique_ptr<Tokenizer> Tokenizer::from_vocab(VocabData vocab) {
  return std::make_unique<tok::BpeTokenizer>(std::move(vocab), tok::HfExtras{});
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) out += token_bytes(id);
  return out;
}

std::string Tokenizer::StreamDecoder::push(int32_t id) {
  pending_ += tok_.token_bytes(id);
  const size_t keep = utf8_incomplete_tail(pending_);
  std::string out = sanitize_utf8(std::string_view(pending_).substr(0, pending_.size() - keep));
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string Tokenizer::StreamDecoder::flush() {
  std::string out = sanitize_utf8(pending_);
  pending_.clear();
  return out;
}

}  // namespace r1

namespace r1 {

std::shared_ptr<const void> Tokenizer::derived(std::string_view key,
                                               const std::function<std::shared_ptr<const void>()>& make) const {
  std::lock_guard<std::mutex> lock(derived_mu_);
  auto it = derived_.find(key);
  if (it != derived_.end()) return it->second;
  std::shared_ptr<const void> value = make();
  derived_.emplace(std::string(key), value);
  return value;
}

}  // namespace r1
