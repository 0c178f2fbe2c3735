// Hugging Face tokenizer.json (+ tokenizer_config.json) loader.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/error.hpp"
#include "tokenizer/bpe_tokenizer.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {
namespace {

using nlohmann::json;

// Bounds on what a tokenizer.json may ask for (the files are untrusted).
constexpr int64_t kMaxVocab = int64_t(1) << 24;  // ids 0 .. 16M-1
constexpr int64_t kMaxIdGap = int64_t(1) << 16;  // ids past the entries ([PAD<id>] fillers)
constexpr int kMaxSequenceDepth = 16;            // Sequence pre-tokenizers inside Sequence

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot open {}", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

json parse_json(std::string_view text, const std::string& path) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: invalid JSON: {}", path, e.what());
  }
}

// A token id: a JSON integer in [0, kMaxVocab).
int64_t token_id(const json& id, const std::string& path, const std::string& what) {
  if (!id.is_number_integer()) fail("{}: the id of {} is not an integer ({})", path, what, id.dump());
  if (id.is_number_unsigned() ? id.get<uint64_t>() >= uint64_t(kMaxVocab)
                              : id.get<int64_t>() < 0 || id.get<int64_t>() >= kMaxVocab)
    fail("{}: the id {} of {} is outside 0..{}", path, id.dump(), what, kMaxVocab - 1);
  return id.get<int64_t>();
}

// A boolean key of an object (absent: fallback); another type is an error.
bool bool_key(const json& obj, const char* key, bool fallback, const std::string& path) {
  if (!obj.contains(key) || obj[key].is_null()) return fallback;
  if (!obj[key].is_boolean()) fail("{}: {} must be true or false, not {}", path, key, obj[key].dump());
  return obj[key].get<bool>();
}

// Writes real CR / LF as the two-character escapes, so that patterns written
// either way in tokenizer.json compare equal.
std::string canon_regex(std::string r) {
  std::string out;
  for (char c : r) {
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// The split regexes of the pre-tokenizers we know, as tokenizer.json spells them.
struct KnownPre {
  const char* name;
  std::vector<std::string> regexes;
};
const std::vector<KnownPre>& known_pres() {
  static const std::vector<KnownPre> k = {
      {"qwen2",
       {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      {"llama-bpe",
       {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      {"deepseek-v3",
       {R"(\p{N}{1,3})", "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
        R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      {"gpt-2", {R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"}},
  };
  return k;
}

void collect_splits(const json& pt, const std::string& path, std::vector<std::string>* regexes, bool* byte_level,
                    int depth = 0) {
  if (!pt.is_object()) fail("{}: a pre-tokenizer is not a JSON object", path);
  const std::string type = pt.value("type", "");
  if (type == "Sequence") {
    if (depth >= kMaxSequenceDepth)
      fail("{}: pre_tokenizer nests Sequence deeper than {} levels", path, kMaxSequenceDepth);
    const json& list = pt.at("pretokenizers");
    if (!list.is_array()) fail("{}: Sequence pretokenizers is not a list", path);
    for (const auto& p : list) collect_splits(p, path, regexes, byte_level, depth + 1);
  } else if (type == "Split") {
    const auto& pat = pt.at("pattern");
    if (!pat.contains("Regex")) fail("{}: Split pre-tokenizer with a non-regex pattern is not supported", path);
    std::string behavior = pt.value("behavior", "");
    if (behavior != "Isolated" || pt.value("invert", false))
      fail("{}: Split pre-tokenizer with behavior '{}' is not supported (only Isolated)", path, behavior);
    regexes->push_back(canon_regex(pat.at("Regex").get<std::string>()));
  } else if (type == "ByteLevel") {
    if (pt.value("add_prefix_space", false))
      fail("{}: ByteLevel pre-tokenizer with add_prefix_space is not supported", path);
    if (pt.value("use_regex", true)) regexes->push_back(canon_regex(known_pres().back().regexes[0]));
    *byte_level = true;
  } else {
    fail("{}: pre-tokenizer type '{}' is not supported", path, type);
  }
}

std::string recognise_pre(const json& j, const std::string& path) {
  if (!j.contains("pre_tokenizer") || j["pre_tokenizer"].is_null())
    fail("{}: no pre_tokenizer (only byte-level BPE tokenizers are supported)", path);
  std::vector<std::string> regexes;
  bool byte_level = false;
  collect_splits(j["pre_tokenizer"], path, &regexes, &byte_level);
  if (!byte_level) fail("{}: pre_tokenizer has no ByteLevel step (not a byte-level BPE tokenizer)", path);
  for (const auto& k : known_pres()) {
    std::vector<std::string> want;
    for (const auto& r : k.regexes) want.push_back(canon_regex(r));
    if (want == regexes) return k.name;
  }
  std::string list;
  for (const auto& r : regexes) list += (list.empty() ? "" : " ; ") + r;
  fail("{}: unrecognised pre_tokenizer regexes [{}]; known: qwen2, llama-bpe, deepseek-v3, gpt-2", path, list);
}

bool normalizer_is_nfc(const json& j, const std::string& path) {
  if (!j.contains("normalizer") || j["normalizer"].is_null()) return false;
  const json& n = j["normalizer"];
  if (!n.is_object()) fail("{}: normalizer is not a JSON object", path);
  const std::string type = n.value("type", "");
  if (type == "NFC") return true;
  if (type == "Sequence") {
    bool nfc = false;
    const json& list = n.at("normalizers");
    if (!list.is_array()) fail("{}: Sequence normalizers is not a list", path);
    for (const auto& s : list) {
      if (!s.is_object() || s.value("type", "") != "NFC")
        fail("{}: normalizer '{}' is not supported", path, s.is_object() ? s.value("type", "") : s.dump());
      nfc = true;
    }
    return nfc;
  }
  fail("{}: normalizer '{}' is not supported (only NFC or none)", path, type);
}

// A special-token entry of tokenizer_config.json: "text", {"content": "text"} or null.
std::string config_token(const json& cfg, const char* key, const std::string& path) {
  if (!cfg.contains(key) || cfg[key].is_null()) return {};
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  fail("{}: {} must be a string or an object with a string \"content\"", path, key);
}

// tokenizer_config.json's chat_template: a string, or a list of {"name", "template"}
// (the one named "default", else the first).
std::string config_chat_template(const json& cfg, const std::string& path) {
  if (!cfg.contains("chat_template") || cfg["chat_template"].is_null()) return {};
  const json& ct = cfg["chat_template"];
  if (ct.is_string()) return ct.get<std::string>();
  if (!ct.is_array()) fail("{}: chat_template must be a string or a list of named templates", path);
  std::string chosen;
  bool have = false;
  for (const auto& e : ct) {
    if (!e.is_object() || !e.contains("template") || !e["template"].is_string() ||
        (e.contains("name") && !e["name"].is_string()))
      fail("{}: each chat_template entry must be an object with a string \"name\" and \"template\"", path);
    if (e.value("name", "") == "default") return e["template"].get<std::string>();
    if (!have) chosen = e["template"].get<std::string>();
    have = true;
  }
  return chosen;
}

struct HfLoaded {
  VocabData vocab;
  tok::HfExtras extras;
};

// Loads tokenizer.json text (and tokenizer_config.json text, when config is not
// null); `path` / `cfg_path` name the files in errors. Every malformed input is an
// r1::Error naming the file and the problem (JSON type errors included).
HfLoaded load_hf_text(std::string_view text, const std::string& path, const std::string* config,
                      const std::string& cfg_path) {
  const json j = parse_json(text, path);
  if (!j.is_object()) fail("{}: not a JSON object", path);
  HfLoaded out;
  VocabData& v = out.vocab;
  try {
    const json& m = j.at("model");
    if (!m.is_object()) fail("{}: model is not a JSON object", path);
    if (m.value("type", "BPE") != "BPE") fail("{}: model type '{}' is not supported (only BPE)", path, m.value("type", ""));
    if (bool_key(m, "byte_fallback", false, path)) fail("{}: BPE with byte_fallback is not supported", path);
    for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
      if (m.contains(k) && m[k].is_string() && !m[k].get<std::string>().empty())
        fail("{}: BPE option {} is not supported", path, k);
    v.model = "gpt2";
    v.pre = recognise_pre(j, path);
    out.extras.nfc = normalizer_is_nfc(j, path);
    out.extras.ignore_merges = bool_key(m, "ignore_merges", false, path) ? 1 : 0;

    // Ids: the model vocabulary, then added tokens (which may reuse model ids).
    const json& vocab = m.at("vocab");
    if (!vocab.is_object()) fail("{}: model.vocab is not a JSON object", path);
    const json added = j.contains("added_tokens") && !j["added_tokens"].is_null() ? j["added_tokens"] : json::array();
    if (!added.is_array()) fail("{}: added_tokens is not a list", path);
    int64_t n = 0;
    for (const auto& [text, id] : vocab.items()) n = std::max(n, token_id(id, path, "'" + text + "'") + 1);
    for (const auto& a : added) {
      if (!a.is_object() || !a.contains("content") || !a["content"].is_string())
        fail("{}: an added token is not an object with a string \"content\"", path);
      n = std::max(n, token_id(a.at("id"), path, "added token '" + a["content"].get<std::string>() + "'") + 1);
    }
    const int64_t entries = int64_t(vocab.size() + added.size());
    if (n <= 0) fail("{}: the vocabulary is empty", path);
    if (n > entries + kMaxIdGap)
      fail("{}: token ids go up to {} but there are only {} tokens (more than {} unused ids)", path, n - 1, entries,
           kMaxIdGap);
    v.tokens.assign(n, std::string());
    v.types.assign(n, TokenType::unused);
    std::vector<bool> set(n, false);
    for (const auto& [text, id] : vocab.items()) {
      const int64_t i = id.get<int64_t>();
      if (set[i]) fail("{}: token id {} is given to both '{}' and '{}'", path, i, v.tokens[i], text);
      v.tokens[i] = text;
      v.types[i] = TokenType::normal;
      set[i] = true;
    }
    std::vector<bool> added_set(n, false);
    for (const auto& a : added) {
      const int64_t i = a.at("id").get<int64_t>();
      const std::string content = a["content"].get<std::string>();
      if (added_set[i] && v.tokens[i] != content)
        fail("{}: added token id {} is given to both '{}' and '{}'", path, i, v.tokens[i], content);
      added_set[i] = true;
      v.tokens[i] = content;
      v.types[i] = bool_key(a, "special", false, path) ? TokenType::control : TokenType::user_defined;
      set[i] = true;
      out.extras.added.push_back({static_cast<int32_t>(i), bool_key(a, "lstrip", false, path),
                                  bool_key(a, "rstrip", false, path), bool_key(a, "single_word", false, path)});
    }
    for (int64_t i = 0; i < n; ++i)
      if (!set[i]) v.tokens[i] = "[PAD" + std::to_string(i) + "]";

    const json& merges = m.at("merges");
    if (!merges.is_array()) fail("{}: model.merges is not a list", path);
    for (const auto& mg : merges) {
      if (mg.is_string()) {
        v.merges.push_back(mg.get<std::string>());
      } else {
        if (!mg.is_array() || mg.size() != 2 || !mg[0].is_string() || !mg[1].is_string())
          fail("{}: a merge is neither a string nor a pair of strings", path);
        v.merges.push_back(mg[0].get<std::string>() + " " + mg[1].get<std::string>());
      }
    }
  } catch (const json::exception& e) {
    fail("{}: unexpected tokenizer.json structure: {}", path, e.what());
  }

  // tokenizer_config.json: special tokens, BOS/EOS flags, chat template.
  if (config) {
    const json cfg = parse_json(*config, cfg_path);
    if (!cfg.is_object()) fail("{}: not a JSON object", cfg_path);
    const auto lookup = [&](const char* key) -> int32_t {
      const std::string t = config_token(cfg, key, cfg_path);
      if (t.empty()) return -1;
      // Added tokens take precedence over model tokens with the same text.
      for (int64_t i = static_cast<int64_t>(v.tokens.size()) - 1; i >= 0; --i)
        if (v.types[i] != TokenType::normal && v.tokens[i] == t) return static_cast<int32_t>(i);
      for (size_t i = 0; i < v.tokens.size(); ++i)
        if (v.tokens[i] == t) return static_cast<int32_t>(i);
      fail("{}: {} '{}' is not in the vocabulary", cfg_path, key, t);
    };
    v.bos = lookup("bos_token");
    v.eos = lookup("eos_token");
    v.pad = lookup("pad_token");
    v.unk = lookup("unk_token");
    v.add_bos = bool_key(cfg, "add_bos_token", false, cfg_path) && v.bos >= 0;
    v.add_eos = bool_key(cfg, "add_eos_token", false, cfg_path) && v.eos >= 0;
    v.chat_template = config_chat_template(cfg, cfg_path);
  }
  return out;
}

HfLoaded load_hf(const std::string& path) {
  const std::string text = read_file(path);
  // tokenizer_config.json beside it, when present.
  const auto cfg_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  if (!std::filesystem::exists(cfg_path)) return load_hf_text(text, path, nullptr, "");
  const std::string config = read_file(cfg_path.string());
  return load_hf_text(text, path, &config, cfg_path.string());
}

// Whether llama.cpp's converter (convert_hf_to_gguf.py, does_token_look_special)
// would store an added token that tokenizer.json does not flag special as a
// control token anyway: "<|...|>", "<｜...｜>" (DeepSeek), "<unused...>" and a
// few fixed names.
bool looks_special(std::string_view t) {
  const auto wrapped = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.starts_with(open) && t.ends_with(close);
  };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
         wrapped("<｜", "｜>") || wrapped("<unused", ">");
}

}  // namespace

// As GGUF stores it, typed the way llama.cpp's converter types added tokens:
// special or special-looking -> control, others -> user-defined with U+2581
// replaced by a space (the converter's "pre-normalize user-defined spaces").
// Matters for parse_special == false only: <｜User｜> is special=false in
// DeepSeek's tokenizer.json (always matched by Hugging Face) but control in
// every GGUF converted by llama.cpp (not matched without special parsing).
VocabData load_hf_vocab(const std::string& tokenizer_json_path) {
  HfLoaded h = load_hf(tokenizer_json_path);
  VocabData& v = h.vocab;
  for (const auto& a : h.extras.added) {
    if (v.types[a.id] != TokenType::user_defined) continue;
    std::string& text = v.tokens[a.id];
    if (looks_special(text)) {
      v.types[a.id] = TokenType::control;
      continue;
    }
    for (size_t p; (p = text.find("▁")) != std::string::npos;) text.replace(p, std::string_view("▁").size(), " ");
  }
  return std::move(h.vocab);
}

std::unique_ptr<Tokenizer> Tokenizer::from_hf_json(const std::string& tokenizer_json_path) {
  HfLoaded h = load_hf(tokenizer_json_path);
  return std::make_unique<tok::BpeTokenizer>(std::move(h.vocab), h.extras);
}

std::unique_ptr<Tokenizer> Tokenizer::from_hf_text(std::string_view tokenizer_json, const std::string* tokenizer_config,
                                                   const std::string& name) {
  HfLoaded h = load_hf_text(tokenizer_json, name + "/tokenizer.json", tokenizer_config, name + "/tokenizer_config.json");
  return std::make_unique<tok::BpeTokenizer>(std::move(h.vocab), h.extras);
}

}  // namespace r1
