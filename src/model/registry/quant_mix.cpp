// llama-quantize's per-tensor type rules; see quant_mix.hpp. Each rule below states the
// llama.cpp behaviour it reproduces (src/llama-quant.cpp, llama_tensor_get_type_impl).
#include "model/registry/quant_mix.hpp"

#include <algorithm>
#include <numeric>
#include <regex>

#include "base/error.hpp"

namespace r1 {

namespace {

// llama_ftype_get_default_type: the file type's name is not always its main type (IQ2_S
// files are mostly IQ2_XS; the registry's table keeps IQ2_S for gen-model's --dtype).
DType llama_default_type(FileType ft) { return ft == FileType::iq2_s ? DType::IQ2_XS : file_type_default(ft); }


using FT = FileType;

// Broad tensor roles, by name substring, in llama.cpp's order of tests.
enum class Category { output, token_embd, attn_qkv, attn_kv_b, attn_v, attn_k, attn_q, attn_output,
                      ffn_up, ffn_gate, ffn_down, other };

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The names llama.cpp matches, spelled through the name table ("ffn_up" is the stem of
// ffn_up.weight, which llama.cpp matches as a substring, so ffn_up_exps counts too).
struct Names {
  std::string output = tensor_name(TensorKind::output);
  std::string token_embd = tensor_name(TensorKind::token_embd);
  std::string per_layer_token_embd = "per_layer_" + token_embd;
  std::string attn_qkv = "attn_qkv.weight";  // fused QKV: no family of r1 has it
  std::string attn_kv_b = tensor_suffix(TensorKind::attn_kv_b);
  std::string attn_v = tensor_suffix(TensorKind::attn_v);
  std::string attn_k = tensor_suffix(TensorKind::attn_k);
  std::string attn_q = tensor_suffix(TensorKind::attn_q);
  std::string attn_output = tensor_suffix(TensorKind::attn_output);
  std::string ffn_up = stem(TensorKind::ffn_up);
  std::string ffn_gate = stem(TensorKind::ffn_gate);
  std::string ffn_down = stem(TensorKind::ffn_down);
  std::string ffn_gate_inp = tensor_suffix(TensorKind::ffn_gate_inp);

  static std::string stem(TensorKind k) {
    const std::string s = tensor_suffix(k);
    return s.substr(0, s.rfind('.'));
  }
};
const Names& names() {
  static const Names n;
  return n;
}


Category category_of(const std::string& name) {
  const Names& n = names();
  if (name == n.output) return Category::output;
  if (is_token_embd(name)) return Category::token_embd;
  if (contains(name, n.attn_qkv)) return Category::attn_qkv;
  if (contains(name, n.attn_kv_b)) return Category::attn_kv_b;
  if (contains(name, n.attn_v)) return Category::attn_v;
  if (contains(name, n.attn_k)) return Category::attn_k;
  if (contains(name, n.attn_q)) return Category::attn_q;
  if (contains(name, n.attn_output)) return Category::attn_output;
  if (contains(name, n.ffn_up)) return Category::ffn_up;
  if (contains(name, n.ffn_gate)) return Category::ffn_gate;
  if (contains(name, n.ffn_down)) return Category::ffn_down;
  return Category::other;
}

// attn_v-like tensors, the most sensitive to quantization.
bool is_attn_v_like(Category c) { return c == Category::attn_v || c == Category::attn_qkv || c == Category::attn_kv_b; }

// ggml_n_dims: dimensions up to the last one larger than 1.
int n_dims(const std::vector<int64_t>& shape) {
  int n = 1;
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] > 1) n = static_cast<int>(i) + 1;
  return n;
}

// tensor_allows_quantization: 2-D and 3-D weights except the small or special ones.
bool allows_quantization(const std::string& name, const std::vector<int64_t>& shape, bool quantize_output) {
  if (n_dims(shape) < 2) return false;
  // llama.cpp tests name.rfind("weight") == name.size() - 6, which a 5-character name
  // passes too (npos == size_t(-1)); kept so that every name is judged alike.
  const bool ends_in_weight =
      name.size() == 5 || (name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0);
  if (!ends_in_weight) return false;
  if (!quantize_output && name == names().output) return false;
  if (name == "position_embd.weight" || name == "token_types.weight") return false;
  static const char* const kKept[] = {
      "_norm.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
      "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
      "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
      "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight",
      "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight",
      "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd",
      "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook",
      "mm.a.code_embd"};
  for (const char* k : kKept)
    if (contains(name, k)) return false;
  if (contains(name, names().ffn_gate_inp)) return false;  // the MoE router
  return true;
}

int layer_of(const std::string& name) { return static_cast<int>(tensor_layer(name)); }

bool is_quantized(DType t) { return t != DType::F32 && t != DType::F16 && t != DType::BF16; }

bool any_of(FT ft, std::initializer_list<FT> set) { return std::find(set.begin(), set.end(), ft) != set.end(); }

// The very-low-bit i-quant mixes, which share one branch of the rules.
bool is_low_iquant_mix(FT ft) { return any_of(ft, {FT::iq2_xxs, FT::iq2_xs, FT::iq1_s, FT::iq2_s, FT::iq1_m}); }

// More bits on the first and last eighth of the layers and every third in between.
bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

class Planner {
 public:
  Planner(const MixModel& m, const MixParams& p, const std::vector<MixTensor>& tensors) : m_(m), p_(p) {
    for (const auto& t : tensors) {
      const Category c = category_of(t.name);
      if (is_attn_v_like(c)) ++n_attention_wv_;
      if (c == Category::output) tied_embeddings_ = false;
    }
    n_ffn_ = static_cast<int>(m.n_layer);
    for (const auto& o : p.overrides) patterns_.emplace_back(std::regex(o.pattern), o.type);
  }

  int n_fallback = 0;

  // Sets the counters as they stand at layer `layer` of a dense model of n_layer layers
  // with an untied output (one attn_v and one ffn_down per layer).
  void at_dense_layer(int64_t layer) {
    n_attention_wv_ = static_cast<int>(m_.n_layer);
    i_attention_wv_ = i_ffn_down_ = i_ffn_gate_ = i_ffn_up_ = static_cast<int>(std::max<int64_t>(0, layer));
    tied_embeddings_ = false;
  }

  // llama_tensor_get_type: the type of one quantizable tensor, advancing the counters.
  DType type_of(const MixTensor& t) {
    const Category cat = category_of(t.name);
    if (p_.has_token_embd_type && cat == Category::token_embd) {
      // per_layer_token_embd follows --token-embedding-type unless a --tensor-type names it
      bool named = false;
      if (t.name == names().per_layer_token_embd)
        for (const auto& [re, type] : patterns_)
          if (std::regex_search(t.name, re)) named = true;
      if (!named) return p_.token_embd_type;
    }
    if (p_.has_output_type && cat == Category::output) return p_.output_type;
    DType type = llama_default_type(p_.file_type);
    if (!is_quantized(type)) return type;
    bool manual = false;
    for (const auto& [re, override_type] : patterns_)
      if (std::regex_search(t.name, re)) {
        type = override_type;
        manual = true;
        break;
      }
    if (!manual && !p_.pure) type = mix_rule(type, t, cat);
    return fallback(t, type);
  }

 private:
  std::pair<int, int> layer_info(int counter, const std::string& name) const {
    int layer = counter;
    if (std::max<int64_t>(1, m_.n_expert) > 1) {
      layer = layer_of(name);
      if (layer < 0) fail("tensor '{}': cannot determine its layer from the name", name);
      if (layer >= n_ffn_) fail("tensor '{}': layer {} is out of range [0, {})", name, layer, n_ffn_);
    }
    return {layer, n_ffn_};
  }

  // tensor_type_fallback: a type whose block divides the row length.
  DType fallback(const MixTensor& t, DType want) {
    const int64_t cols = t.shape[0];
    if (cols % dtype_block_size(want) == 0) return want;
    ++n_fallback;
    DType alt = want;
    switch (want) {
      case DType::IQ1_S: case DType::IQ1_M: case DType::IQ2_XXS: case DType::IQ2_XS: case DType::IQ2_S:
      case DType::IQ3_XXS: case DType::IQ3_S: case DType::IQ4_XS: alt = DType::IQ4_NL; break;
      case DType::Q2_K: case DType::Q3_K: alt = DType::Q4_0; break;
      case DType::Q4_K: alt = DType::Q5_0; break;
      case DType::Q5_K: alt = DType::Q5_1; break;
      case DType::Q6_K: alt = DType::Q8_0; break;
      default:
        if (dtype_block_size(want) > 32) fail("no fallback type for {} (tensor '{}')", dtype_name(want), t.name);
        break;
    }
    return cols % dtype_block_size(alt) == 0 ? alt : DType::F16;
  }

  // llama_tensor_get_type_impl.
  DType mix_rule(DType type, const MixTensor& t, Category cat) {
    const FT ft = p_.file_type;
    const bool falcon = m_.arch == "falcon";
    const int64_t gqa = m_.n_gqa(), n_expert = m_.n_expert;
    if (cat == Category::output || (tied_embeddings_ && cat == Category::token_embd)) {
      if (p_.has_output_type) return p_.output_type;
      if (falcon || t.shape[0] % dtype_block_size(type) != 0) return DType::Q8_0;
      if (is_low_iquant_mix(ft) || ft == FT::iq3_xxs) return DType::Q5_K;
      return type != DType::Q8_0 ? DType::Q6_K : type;
    }
    if (cat == Category::token_embd) {
      if (p_.has_token_embd_type) return p_.token_embd_type;
      if (any_of(ft, {FT::iq2_xxs, FT::iq2_xs, FT::iq1_s, FT::iq1_m})) return DType::Q2_K;
      if (ft == FT::iq2_s || ft == FT::iq3_xxs) return DType::IQ3_S;
      return type;
    }
    if (is_low_iquant_mix(ft)) {
      if (is_attn_v_like(cat)) {
        ++i_attention_wv_;
        if (gqa >= 4 || n_expert >= 4) return DType::Q4_K;
        return ft == FT::iq2_s ? DType::IQ3_S : DType::Q2_K;
      }
      if (n_expert == 8 && cat == Category::attn_k) return DType::Q4_K;
      if (cat == Category::ffn_down) {
        if (i_ffn_down_ < n_ffn_ / 8) type = ft == FT::iq2_s ? DType::IQ3_S : DType::Q2_K;
        ++i_ffn_down_;
        return type;
      }
      if (cat == Category::attn_output) {
        if (n_expert == 8) return DType::Q5_K;
        if (ft == FT::iq1_s || ft == FT::iq1_m) return DType::IQ2_XXS;
        if (ft == FT::iq2_s) return DType::IQ3_S;
      }
      return type;
    }
    if (is_attn_v_like(cat)) {
      if (ft == FT::q2_k) type = gqa >= 4 ? DType::Q4_K : DType::Q3_K;
      else if (ft == FT::iq3_xxs) type = gqa >= 4 ? DType::Q4_K : !p_.has_imatrix ? DType::IQ3_S : DType::IQ3_XXS;
      else if (ft == FT::iq3_s && gqa >= 4) type = DType::Q4_K;
      else if (ft == FT::q3_k_m) type = i_attention_wv_ < 2 ? DType::Q5_K : DType::Q4_K;
      else if (ft == FT::q3_k_l) type = DType::Q5_K;
      else if ((ft == FT::iq4_nl || ft == FT::iq4_xs) && gqa >= 4) type = DType::Q5_K;
      else if ((ft == FT::q4_k_m || ft == FT::q5_k_m) && use_more_bits(i_attention_wv_, n_attention_wv_))
        type = DType::Q6_K;
      else if (ft == FT::q4_k_s && i_attention_wv_ < 4) type = DType::Q5_K;
      if (m_.is_70b() && (type == DType::Q3_K || type == DType::Q4_K)) type = DType::Q5_K;
      if (n_expert == 8) type = DType::Q8_0;
      ++i_attention_wv_;
      return type;
    }
    if (cat == Category::attn_k) {
      if (n_expert == 8) return DType::Q8_0;
      if (ft == FT::iq3_xxs) return DType::IQ2_S;
      return type;
    }
    if (cat == Category::attn_q) return ft == FT::iq3_xxs ? DType::IQ2_S : type;
    if (cat == Category::ffn_down) {
      const auto [i, n] = layer_info(i_ffn_down_, t.name);
      if (ft == FT::q2_k) type = DType::Q3_K;
      else if (ft == FT::iq3_xxs && !p_.has_imatrix) type = i < n / 8 ? DType::Q4_K : DType::Q3_K;
      else if (ft == FT::q3_k_m)
        type = i < n / 16 ? DType::Q5_K : !falcon || use_more_bits(i, n) ? DType::Q4_K : DType::Q3_K;
      else if (ft == FT::q3_k_l) type = falcon ? DType::Q4_K : DType::Q5_K;
      else if (ft == FT::q4_k_m) {
        if (falcon) type = i < n / 16 ? DType::Q6_K : use_more_bits(i, n) ? DType::Q5_K : DType::Q4_K;
        else if (use_more_bits(i, n)) type = DType::Q6_K;
      } else if (i < n / 8 && (ft == FT::iq4_nl || ft == FT::iq4_xs) && !p_.has_imatrix) type = DType::Q5_K;
      else if (ft == FT::q5_k_m && use_more_bits(i, n)) type = DType::Q6_K;
      else if (ft == FT::q4_k_s && !falcon && i < n / 8) type = DType::Q5_K;
      else if ((ft == FT::q4_0 || ft == FT::q5_0) && p_.has_imatrix && i < n / 8)
        type = ft == FT::q4_0 ? DType::Q4_1 : DType::Q5_1;
      ++i_ffn_down_;
      return type;
    }
    if (cat == Category::attn_output) {
      if (!falcon) {
        if (n_expert == 8) {
          if (any_of(ft, {FT::q2_k, FT::iq3_xxs, FT::q3_k_s, FT::q3_k_m, FT::iq4_nl, FT::q4_k_s, FT::q4_k_m, FT::iq3_s,
                          FT::iq4_xs}))
            type = DType::Q5_K;
        } else {
          if (ft == FT::q2_k) type = DType::Q3_K;
          else if (ft == FT::iq3_xxs) type = DType::IQ3_S;
          else if (ft == FT::q3_k_m) type = DType::Q4_K;
          else if (ft == FT::q3_k_l) type = DType::Q5_K;
        }
      } else if (ft == FT::q3_k_l) {
        type = DType::Q4_K;
      }
      return type;
    }
    if (cat == Category::attn_qkv) {
      // unreachable: attn_qkv is attn_v-like above (kept as llama.cpp has it)
      return type;
    }
    if (cat == Category::ffn_gate || cat == Category::ffn_up) {
      int& counter = cat == Category::ffn_gate ? i_ffn_gate_ : i_ffn_up_;
      layer_info(counter, t.name);
      ++counter;
    }
    return type;
  }

  const MixModel& m_;
  const MixParams& p_;
  std::vector<std::pair<std::regex, DType>> patterns_;
  bool tied_embeddings_ = true;
  int n_attention_wv_ = 0, i_attention_wv_ = 0;
  int n_ffn_ = 0, i_ffn_down_ = 0, i_ffn_gate_ = 0, i_ffn_up_ = 0;
};

// tensor_requires_imatrix.
bool requires_imatrix(const std::string& name, DType type, FT ft) {
  (void)ft;  // Q2_K needs one only in a Q2_K_S file, a mix r1 does not offer
  if (is_token_embd(name) || name == names().output) return false;
  return type == DType::IQ3_XXS || type == DType::IQ2_XXS || type == DType::IQ2_XS || type == DType::IQ2_S ||
         type == DType::IQ1_M || type == DType::IQ1_S;
}

}  // namespace

bool is_token_embd(const std::string& name) {
  return name == names().token_embd || name == names().per_layer_token_embd;
}

bool MixModel::is_70b() const {
  if (n_layer != 80) return false;
  if (arch == "llama") return n_head != n_head_kv;
  return arch == "qwen2";
}

std::vector<size_t> llama_tensor_order(const std::vector<std::string>& names) {
  std::vector<size_t> order(names.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::vector<int> layers(names.size());
  for (size_t i = 0; i < names.size(); ++i) layers[i] = layer_of(names[i]);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (layers[a] != layers[b]) return layers[a] < layers[b];
    return names[a] < names[b];
  });
  return order;
}

DType mix_type_at(const MixTensor& t, int64_t layer, const MixModel& model, const MixParams& params) {
  if (!allows_quantization(t.name, t.shape, params.quantize_output)) return t.type;
  Planner planner(model, params, {});
  planner.at_dense_layer(layer);
  return planner.type_of(t);
}

MixPlan plan_tensor_types(const std::vector<MixTensor>& tensors, const MixModel& model, const MixParams& params) {
  std::vector<std::string> names;
  names.reserve(tensors.size());
  for (const auto& t : tensors) names.push_back(t.name);
  MixPlan plan;
  plan.types.resize(tensors.size());
  plan.quantizable.resize(tensors.size());
  plan.needs_imatrix.resize(tensors.size());
  Planner planner(model, params, tensors);
  for (size_t i : llama_tensor_order(names)) {
    const MixTensor& t = tensors[i];
    const bool q = allows_quantization(t.name, t.shape, params.quantize_output);
    plan.quantizable[i] = q;
    plan.types[i] = q ? planner.type_of(t) : t.type;
    plan.needs_imatrix[i] = requires_imatrix(t.name, plan.types[i], params.file_type);
  }
  plan.n_fallback = planner.n_fallback;
  return plan;
}

}  // namespace r1
