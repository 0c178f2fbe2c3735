#include "model/hf/hf_config.hpp"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "base/error.hpp"

namespace r1 {

namespace {

using json = nlohmann::json;

constexpr int64_t kMaxDim = int64_t{1} << 24;

// Typed access to config.json with errors naming the file and key.
class Keys {
 public:
  Keys(const json& j, const std::string& path) : j_(j), path_(path) {}

  bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }

  int64_t integer(const char* key, int64_t lo, int64_t hi) const {
    if (!has(key)) fail("{}: missing \"{}\"", path_, key);
    return integer_at(j_[key], key, lo, hi);
  }
  int64_t integer_or(const char* key, int64_t fallback, int64_t lo, int64_t hi) const {
    return has(key) ? integer_at(j_[key], key, lo, hi) : fallback;
  }
  double number_or(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_[key];
    if (!v.is_number() || !std::isfinite(v.get<double>())) fail("{}: \"{}\" must be a finite number", path_, key);
    return v.get<double>();
  }
  bool boolean_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_boolean()) fail("{}: \"{}\" must be true or false", path_, key);
    return j_[key].get<bool>();
  }
  std::string string_or(const char* key, std::string fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_string()) fail("{}: \"{}\" must be a string", path_, key);
    return j_[key].get<std::string>();
  }
  const json& raw() const { return j_; }
  const std::string& path() const { return path_; }

 private:
  int64_t integer_at(const json& v, const char* key, int64_t lo, int64_t hi) const {
    if (!v.is_number_integer()) fail("{}: \"{}\" must be an integer", path_, key);
    const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : v.get<int64_t>();
    if (x < lo || x > hi) fail("{}: \"{}\" = {} is outside [{}, {}]", path_, key, x, lo, hi);
    return x;
  }
  const json& j_;
  const std::string& path_;
};

// A JSON object (config files), or r1::Error naming `path`.
json parse_object(std::string_view text, const std::string& path) {
  json j;
  try {
    j = json::parse(text.begin(), text.end(), nullptr, true, false);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON ({})", path, e.what());
  }
  if (!j.is_object()) fail("{}: not a JSON object", path);
  return j;
}

// config.json's rope_scaling object, or null when it is absent or null.
const json* rope_scaling_object(const Keys& k) {
  if (!k.has("rope_scaling")) return nullptr;
  const json& rs = k.raw()["rope_scaling"];
  if (!rs.is_object()) fail("{}: \"rope_scaling\" must be an object or null", k.path());
  return &rs;
}

// rope_scaling's type ("rope_type" in newer transformers, "type" in older configs).
std::string rope_scaling_type(const Keys& rs) {
  std::string t = rs.string_or("rope_type", rs.string_or("type", "default"));
  for (char& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return t;
}

void read_dense(const Keys& k, HfConfig& out) {
  ModelConfig& c = out.cfg;
  c.n_embd = k.integer("hidden_size", 1, kMaxDim);
  c.n_layer = k.integer("num_hidden_layers", 1, 4096);
  c.n_head = k.integer("num_attention_heads", 1, 16384);
  c.n_head_kv = k.integer_or("num_key_value_heads", c.n_head, 1, c.n_head);
  if (c.n_head % c.n_head_kv != 0)
    fail("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", k.path(), c.n_head, c.n_head_kv);
  if (c.n_embd % c.n_head != 0 && !k.has("head_dim"))
    fail("{}: hidden_size {} is not a multiple of num_attention_heads {} and no head_dim is given", k.path(), c.n_embd,
         c.n_head);
  c.head_dim = k.integer_or("head_dim", c.n_embd / c.n_head, 2, 4096);
  c.n_ff = k.integer("intermediate_size", 1, kMaxDim);
  c.n_ctx_train = k.integer_or("max_position_embeddings", 4096, 1, int64_t{1} << 24);
  c.rms_eps = static_cast<float>(k.number_or("rms_norm_eps", 1e-6));
  c.rope.freq_base = static_cast<float>(k.number_or("rope_theta", 10000.0));
  c.rope.n_dims = c.head_dim;
  c.rope.style = c.arch == Arch::llama ? RopeStyle::normal : RopeStyle::neox;
  c.tied_output = k.boolean_or("tie_word_embeddings", false);
  if (c.arch == Arch::llama) {
    if (k.boolean_or("attention_bias", false))
      fail("{}: \"attention_bias\": true (q/k/v biases) is not supported for llama", k.path());
    if (k.boolean_or("mlp_bias", false)) fail("{}: \"mlp_bias\": true is not supported for llama", k.path());
  }
  if (c.arch == Arch::qwen3 && k.boolean_or("attention_bias", false))
    fail("{}: \"attention_bias\": true is not supported for qwen3", k.path());
  const json* rsj = rope_scaling_object(k);
  if (!rsj) return;
  const Keys rs(*rsj, k.path());
  const std::string type = rope_scaling_type(rs);
  if (type == "default") return;
  if (type == "linear") {
    const double f = rs.number_or("factor", 1.0);
    if (!(f > 0)) fail("{}: rope_scaling.factor must be positive", k.path());
    c.rope_scaling = "linear";
    c.rope_scaling_factor = static_cast<float>(f);
    c.rope.freq_scale = static_cast<float>(1.0 / f);
  } else if (type == "llama3" && c.arch == Arch::llama) {
    out.choices.rope_freqs = true;
    out.llama3.factor = rs.number_or("factor", 8.0);
    out.llama3.low_freq_factor = rs.number_or("low_freq_factor", 1.0);
    out.llama3.high_freq_factor = rs.number_or("high_freq_factor", 4.0);
    out.llama3.original_context = rs.integer_or("original_max_position_embeddings", 8192, 1, int64_t{1} << 24);
    if (!(out.llama3.factor > 0) || !(out.llama3.high_freq_factor > out.llama3.low_freq_factor) ||
        !(out.llama3.low_freq_factor > 0))
      fail("{}: rope_scaling (llama3) needs factor > 0 and high_freq_factor > low_freq_factor > 0", k.path());
  } else {
    fail("{}: rope_scaling type \"{}\" is not supported for {} (r1 runs linear{} scaling here)", k.path(), type,
         arch_name(c.arch), c.arch == Arch::llama ? " and llama3" : "");
  }
}

void read_deepseek2(const Keys& k, HfConfig& out) {
  ModelConfig& c = out.cfg;
  c.n_embd = k.integer("hidden_size", 1, kMaxDim);
  c.n_layer = k.integer("num_hidden_layers", 1, 4096);
  out.dropped_nextn = k.integer_or("num_nextn_predict_layers", 0, 0, 64);
  c.n_head = k.integer("num_attention_heads", 1, 16384);
  c.n_head_kv = 1;
  c.n_ctx_train = k.integer_or("max_position_embeddings", 4096, 1, int64_t{1} << 24);
  c.rms_eps = static_cast<float>(k.number_or("rms_norm_eps", 1e-6));
  c.tied_output = k.boolean_or("tie_word_embeddings", false);
  c.mla.q_lora_rank = k.integer_or("q_lora_rank", 0, 0, kMaxDim);
  c.mla.kv_lora_rank = k.integer("kv_lora_rank", 1, kMaxDim);
  c.mla.qk_nope = k.integer("qk_nope_head_dim", 1, 4096);
  const int64_t qk_rope = k.integer("qk_rope_head_dim", 2, 4096);
  c.mla.v_head = k.integer("v_head_dim", 1, 4096);
  c.head_dim = c.mla.qk_nope + qk_rope;
  c.n_ff = k.integer("intermediate_size", 1, kMaxDim);

  MoeParams& m = c.moe;
  if (k.has("n_routed_experts")) {
    m.n_dense_lead = k.integer_or("first_k_dense_replace", 0, 0, c.n_layer);
    if (k.integer_or("moe_layer_freq", 1, 1, 4096) != 1)
      fail("{}: \"moe_layer_freq\" other than 1 is not supported (llama.cpp's deepseek2 has none)", k.path());
    m.n_expert = k.integer("n_routed_experts", 1, 65536);
    m.n_expert_used = k.integer("num_experts_per_tok", 1, m.n_expert);
    m.n_expert_shared = k.integer_or("n_shared_experts", 0, 0, 1024);
    m.n_ff_exp = k.integer("moe_intermediate_size", 1, kMaxDim);
    m.n_group = k.integer_or("n_group", 0, 0, m.n_expert);
    m.n_group_used = k.integer_or("topk_group", 0, 0, m.n_expert);
    m.weights_scale = static_cast<float>(k.number_or("routed_scaling_factor", 1.0));
    m.weights_norm = k.boolean_or("norm_topk_prob", false);
    const std::string scoring = k.string_or("scoring_func", "softmax");
    if (scoring == "sigmoid") m.gating = MoeGating::sigmoid;
    else if (scoring == "softmax") m.gating = MoeGating::softmax;
    else fail("{}: \"scoring_func\" \"{}\" is not supported (softmax, sigmoid)", k.path(), scoring);
    out.choices.exp_probs_b = k.string_or("topk_method", "greedy") == "noaux_tc";
  } else {
    m.n_dense_lead = c.n_layer;  // no routed experts: every block dense
    out.choices.exp_probs_b = false;
  }

  c.rope.style = RopeStyle::normal;
  c.rope.n_dims = qk_rope;
  c.rope.freq_base = static_cast<float>(k.number_or("rope_theta", 10000.0));
  c.rope_scaling = "none";
  const json* rsj = rope_scaling_object(k);
  if (!rsj) return;
  const Keys rs(*rsj, k.path());
  const std::string type = rope_scaling_type(rs);
  if (type == "default") return;
  if (type != "yarn" && type != "linear")
    fail("{}: rope_scaling type \"{}\" is not supported for deepseek2 (yarn, linear)", k.path(), type);
  const double f = rs.number_or("factor", 1.0);
  if (!(f > 0)) fail("{}: rope_scaling.factor must be positive", k.path());
  c.rope_scaling = type;
  c.rope_scaling_factor = static_cast<float>(f);
  if (type == "yarn") {
    c.rope.n_ctx_orig = rs.integer_or("original_max_position_embeddings", c.n_ctx_train, 1, int64_t{1} << 24);
    // llama.cpp's converter stores 0.1 * mscale_all_dim; ModelConfig keeps the multiplier itself.
    c.yarn_log_mul = static_cast<float>(rs.number_or("mscale_all_dim", 0.0));
    const double mscale = rs.number_or("mscale", 1.0), all = rs.number_or("mscale_all_dim", 0.0);
    if (rs.has("mscale") && all != 0 && std::fabs(mscale - all) > 1e-6 * std::fabs(all))
      out.warnings.push_back(
          fmt::format("rope_scaling.mscale {} differs from mscale_all_dim {}: llama.cpp (and r1) assume they cancel",
                      mscale, all));
    if (rs.number_or("beta_fast", 32) != 32 || rs.number_or("beta_slow", 1) != 1)
      out.warnings.push_back("rope_scaling beta_fast / beta_slow differ from 32 / 1, which llama.cpp always uses");
  }
}

}  // namespace

std::vector<float> llama3_rope_factors(int64_t rope_dim, float theta, const Llama3Rope& r) {
  // In float32 throughout, as the converter computes it (torch float32 tensors).
  const auto factor = static_cast<float>(r.factor), low = static_cast<float>(r.low_freq_factor),
             high = static_cast<float>(r.high_freq_factor), orig = static_cast<float>(r.original_context);
  const float low_wavelen = orig / low, high_wavelen = orig / high;
  std::vector<float> out(static_cast<size_t>(rope_dim / 2));
  for (int64_t i = 0; i < rope_dim / 2; ++i) {
    const float freq = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(rope_dim));
    const float wavelen = static_cast<float>(2 * M_PI) / freq;
    float f;
    if (wavelen < high_wavelen) f = 1;
    else if (wavelen > low_wavelen) f = factor;
    else {
      const float smooth = (orig / wavelen - low) / (high - low);
      f = 1.0f / ((1 - smooth) / factor + smooth);
    }
    out[static_cast<size_t>(i)] = f;
  }
  return out;
}

HfConfig parse_hf_config(std::string_view text, const std::string& path, const std::string& name) {
  const json j = parse_object(text, path);
  const Keys k(j, path);
  HfConfig out;
  const std::string type = k.string_or("model_type", "");
  if (type == "qwen2") out.cfg.arch = Arch::qwen2;
  else if (type == "llama") out.cfg.arch = Arch::llama;
  else if (type == "qwen3") out.cfg.arch = Arch::qwen3;
  else if (type == "deepseek_v2" || type == "deepseek_v3") out.cfg.arch = Arch::deepseek2;
  else
    fail("{}: model_type \"{}\" is not supported (qwen2, llama, qwen3, deepseek_v2, deepseek_v3)", path, type);
  out.cfg.name = name;
  out.cfg.n_vocab = k.integer_or("vocab_size", 0, 0, int64_t{1} << 24);
  out.torch_dtype = k.string_or("torch_dtype", k.string_or("dtype", ""));
  if (out.cfg.arch == Arch::deepseek2) read_deepseek2(k, out);
  else read_dense(k, out);
  if (!(out.cfg.rms_eps > 0)) fail("{}: \"rms_norm_eps\" must be positive", path);
  if (!(out.cfg.rope.freq_base > 0)) fail("{}: \"rope_theta\" must be positive", path);

  if (k.has("quantization_config")) {
    const json& qj = j["quantization_config"];
    if (!qj.is_object()) fail("{}: \"quantization_config\" must be an object", path);
    const Keys q(qj, path);
    const std::string method = q.string_or("quant_method", "");
    if (method != "fp8")
      fail("{}: quantization_config.quant_method \"{}\" is not supported (only DeepSeek's fp8 block scaling)", path,
           method);
    if (q.string_or("fmt", "e4m3") != "e4m3") fail("{}: quantization_config.fmt must be e4m3", path);
    if (qj.contains("weight_block_size") && qj["weight_block_size"] != json::array({128, 128}))
      fail("{}: quantization_config.weight_block_size must be [128, 128]", path);
    out.fp8 = true;
  }
  return out;
}

HfSampling parse_hf_generation_config(std::string_view text, const std::string& path) {
  const json j = parse_object(text, path);
  const Keys k(j, path);
  HfSampling s;
  if (!k.boolean_or("do_sample", true)) return s;  // greedy by default: no sampling settings
  if (k.has("temperature")) s.temp = static_cast<float>(k.number_or("temperature", 1.0));
  if (k.has("top_p")) s.top_p = static_cast<float>(k.number_or("top_p", 1.0));
  if (k.has("top_k")) s.top_k = k.integer_or("top_k", -1, 0, int64_t{1} << 24);
  if (s.temp < -1 || s.top_p < -1 || s.top_p > 1) fail("{}: temperature / top_p out of range", path);
  return s;
}

}  // namespace r1
