// Registry pieces shared by the families: spec sizes, file-type rules, dispatch.
#include "model/registry/registry.hpp"

#include <cctype>
#include <regex>
#include <utility>

#include "base/error.hpp"
#include "kernels/random_blocks.hpp"
#include "format/gguf.hpp"
#include "model/registry/quant_mix.hpp"

namespace r1 {

namespace {

struct FileTypeInfo {
  FileType type;
  const char* name;
  uint32_t id;  // llama.cpp LLAMA_FTYPE_* (general.file_type)
  DType main;   // the type of most weights
};
constexpr FileTypeInfo kFileTypes[] = {
    {FileType::f32, "f32", 0, DType::F32},       {FileType::f16, "f16", 1, DType::F16},
    {FileType::bf16, "bf16", 32, DType::BF16},   {FileType::q8_0, "q8_0", 7, DType::Q8_0},
    {FileType::q4_0, "q4_0", 2, DType::Q4_0},    {FileType::q4_k_m, "q4_k_m", 15, DType::Q4_K},
    {FileType::iq1_s, "iq1_s", 24, DType::IQ1_S},    {FileType::iq1_m, "iq1_m", 31, DType::IQ1_M},
    {FileType::iq2_xxs, "iq2_xxs", 19, DType::IQ2_XXS}, {FileType::iq2_xs, "iq2_xs", 20, DType::IQ2_XS},
    {FileType::iq2_s, "iq2_s", 28, DType::IQ2_S},    {FileType::iq3_xxs, "iq3_xxs", 23, DType::IQ3_XXS},
    {FileType::iq3_s, "iq3_s", 26, DType::IQ3_S},    {FileType::iq4_nl, "iq4_nl", 25, DType::IQ4_NL},
    {FileType::iq4_xs, "iq4_xs", 30, DType::IQ4_XS},
    {FileType::q4_1, "q4_1", 3, DType::Q4_1},        {FileType::q5_0, "q5_0", 8, DType::Q5_0},
    {FileType::q5_1, "q5_1", 9, DType::Q5_1},        {FileType::q2_k, "q2_k", 10, DType::Q2_K},
    {FileType::q3_k_s, "q3_k_s", 11, DType::Q3_K},   {FileType::q3_k_m, "q3_k_m", 12, DType::Q3_K},
    {FileType::q3_k_l, "q3_k_l", 13, DType::Q3_K},   {FileType::q4_k_s, "q4_k_s", 14, DType::Q4_K},
    {FileType::q5_k_s, "q5_k_s", 16, DType::Q5_K},   {FileType::q5_k_m, "q5_k_m", 17, DType::Q5_K},
    {FileType::q6_k, "q6_k", 18, DType::Q6_K},
};
// llama-quantize's aliases.
constexpr std::pair<const char*, FileType> kFileTypeAliases[] = {
    {"q3_k", FileType::q3_k_m}, {"q4_k", FileType::q4_k_m}, {"q5_k", FileType::q5_k_m}};

// The file types added for r1 quantize, whose quant_type follows the llama.cpp rules.
bool is_llama_mix(FileType t) { return static_cast<uint8_t>(t) >= static_cast<uint8_t>(FileType::q4_1); }

bool is_iquant(DType t) { return kernels::has_random_blocks(t); }

const FileTypeInfo& info(FileType t) {
  for (const auto& i : kFileTypes)
    if (i.type == t) return i;
  return kFileTypes[0];
}

// llama.cpp's Q4_K_M rule for the sensitive tensors: more bits in the first and last
// eighth of the layers and every third layer in between.
bool more_bits(int64_t layer, int64_t n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

// As llama-quantize falls back for rows that are not a multiple of the block size.
DType fit_type(DType want, int64_t cols) {
  if (cols % dtype_block_size(want) == 0) return want;
  const DType alt = want == DType::Q4_K   ? DType::Q5_0
                    : want == DType::Q6_K ? DType::Q8_0
                    : is_iquant(want)     ? DType::IQ4_NL
                                          : DType::F16;
  return cols % dtype_block_size(alt) == 0 ? alt : DType::F16;
}

}  // namespace

int64_t TensorSpec::rows() const {
  int64_t r = 1;
  for (size_t i = 1; i < shape.size(); ++i) r *= shape[i];
  return r;
}

TensorSpec make_spec(TensorKind kind, int64_t layer, std::vector<int64_t> shape, Init init, QuantClass quant, Op op,
                     int64_t fan_in) {
  TensorSpec s;
  s.kind = kind;
  s.layer = layer;
  s.name = tensor_name(kind, layer);
  s.shape = std::move(shape);
  s.init = init;
  s.quant = quant;
  s.op = op;
  s.fan_in = fan_in > 0 ? fan_in : s.shape[0];
  return s;
}

int64_t TensorSpec::numel() const { return shape.empty() ? 0 : shape[0] * rows(); }

TensorChoices tensor_choices_of(const ModelConfig& c, const gguf::File& f) {
  TensorChoices ch;
  auto has = [&](TensorKind k, int64_t layer) { return f.find_tensor(tensor_name(k, layer)) != nullptr; };
  ch.rope_freqs = c.arch == Arch::llama && has(TensorKind::rope_freqs, -1);
  ch.attn_output_bias = c.arch == Arch::llama && c.n_layer > 0 && has(TensorKind::attn_output_bias, 0);
  if (c.arch == Arch::deepseek2) {
    for (int64_t i = 0; i < c.n_layer; ++i)
      if (!c.mla.legacy_kv_b && has(TensorKind::attn_kv_b, i) && !has(TensorKind::attn_k_b, i))
        fail("{}: layer {} has the legacy '{}' tensor but the metadata describes the split MLA layout ({} / {}); "
             "re-convert the model with a current llama.cpp",
             f.name(), i, tensor_suffix(TensorKind::attn_kv_b), tensor_suffix(TensorKind::attn_k_b),
             tensor_suffix(TensorKind::attn_v_b));
    const int64_t first_moe = c.moe.n_dense_lead;
    ch.exp_probs_b = first_moe < c.n_layer && has(TensorKind::exp_probs_b, first_moe);
    ch.fused_gate_up_exps = first_moe < c.n_layer && has(TensorKind::ffn_gate_up_exps, first_moe);
  }
  return ch;
}

std::vector<TensorSpec> model_tensors(const ModelConfig& c, const TensorChoices& choices) {
  switch (c.arch) {
    case Arch::llama:
    case Arch::qwen2:
    case Arch::qwen3: return dense_tensors(c, choices);
    case Arch::deepseek2: return deepseek2_tensors(c, choices);
  }
  fail("no tensor table for architecture {}", arch_name(c.arch));
}

bool parse_file_type(const std::string& s, FileType* out) {
  std::string lower = s;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& i : kFileTypes)
    if (lower == i.name) {
      *out = i.type;
      return true;
    }
  for (const auto& [name, type] : kFileTypeAliases)
    if (lower == name) {
      *out = type;
      return true;
    }
  return false;
}

DType file_type_default(FileType t) { return info(t).main; }

const char* file_type_name(FileType t) { return info(t).name; }
uint32_t file_type_id(FileType t) { return info(t).id; }

DType quant_type(const TensorSpec& s, FileType ft, int64_t n_layer, const std::vector<TypeOverride>& overrides) {
  if (s.quant == QuantClass::vector || s.quant == QuantClass::router) return DType::F32;
  if (is_llama_mix(ft)) {
    MixParams p{.file_type = ft, .overrides = overrides};
    return mix_type_at(MixTensor{s.name, s.shape, DType::F32}, s.layer, MixModel{.n_layer = n_layer}, p);
  }
  for (const TypeOverride& o : overrides)
    if (std::regex_search(s.name, std::regex(o.pattern))) return fit_type(o.type, s.shape[0]);
  DType t = info(ft).main;
  if (ft == FileType::q4_k_m &&
      (s.quant == QuantClass::output || (s.quant == QuantClass::sensitive && more_bits(s.layer, n_layer))))
    t = DType::Q6_K;
  if (is_iquant(t) && s.quant == QuantClass::output) t = DType::Q6_K;
  return fit_type(t, s.shape[0]);
}

TypeOverride parse_type_override(const std::string& text) {
  const size_t eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    fail("--tensor-type '{}': expected PATTERN=TYPE (e.g. ffn_.*_exps=iq1_s)", text);
  TypeOverride o;
  o.pattern = text.substr(0, eq);
  try {
    std::regex check(o.pattern);
  } catch (const std::regex_error& e) {
    fail("--tensor-type '{}': bad regular expression: {}", text, e.what());
  }
  if (!parse_dtype(text.substr(eq + 1), &o.type) || !find_traits(o.type) || find_traits(o.type)->vec_dot == nullptr ||
      (!find_traits(o.type)->from_float && !is_iquant(o.type)))
    fail("--tensor-type '{}': '{}' is not a weight type this build can write", text, text.substr(eq + 1));
  return o;
}

std::string file_type_names() {
  std::string out;
  for (const auto& i : kFileTypes) out += (out.empty() ? "" : ", ") + std::string(i.name);
  return out;
}

bool repackable(Arch arch, const TensorSpec& s, DType type) {
  if (s.op != Op::mul_mat && s.op != Op::mul_mat_id) return false;
  if (arch == Arch::deepseek2) return type == DType::Q4_0 || type == DType::Q4_K;
  return true;
}

}  // namespace r1
