// The tensor registry: for each family, the one table of the tensors a model of a given
// config has. Everything that touches weights iterates it: the weight binder (load),
// the planner (layout per weight), gen-model (random models), the trainer (parameter
// layout, init, export, import, checkpoints) and `r1 inspect`. Tensor names are spelled
// in exactly one place, the name table (tensor_names.cpp); a test fails if a tensor name
// literal appears anywhere else in src/.
//
// A TensorSpec is one concrete tensor: its kind (the name-table entry) and layer, its
// GGML shape in terms of the config, how a new model initialises it, which file type
// stores it how (quant class), and which product it feeds (op: also where the planner may
// repack it). Optional tensors (biases that some files have, a fused expert tensor
// instead of two) are decided before the table is made (TensorChoices), so every spec of
// a list is present in a conforming file.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernels/types.hpp"
#include "model/config.hpp"

namespace r1 {

namespace gguf {
class File;
}

// Every tensor kind r1 knows, in the GGUF naming of llama.cpp. The suffix and whether it
// is per layer ("blk.<i>.") come from the name table.
enum class TensorKind : uint8_t {
  token_embd, output_norm, output, rope_freqs,
  attn_norm, attn_q, attn_k, attn_v, attn_q_bias, attn_k_bias, attn_v_bias, attn_q_norm, attn_k_norm,
  attn_output, attn_output_bias, ffn_norm, ffn_gate, ffn_up, ffn_down,
  // deepseek2: MLA
  attn_q_a, attn_q_a_norm, attn_q_b, attn_kv_a_mqa, attn_kv_a_norm, attn_k_b, attn_v_b, attn_kv_b,
  // deepseek2: MoE
  ffn_gate_inp, exp_probs_b, ffn_gate_exps, ffn_up_exps, ffn_gate_up_exps, ffn_down_exps,
  ffn_gate_shexp, ffn_up_shexp, ffn_down_shexp,
  // deepseek2: multi-token-prediction layers (kept in files, not run)
  nextn_eh_proj, nextn_enorm, nextn_hnorm, nextn_shared_head_norm, nextn_embed_tokens, nextn_shared_head_head,
  count
};

// The name table (tensor_names.cpp).
const char* tensor_suffix(TensorKind k);        // "attn_q.weight"
bool tensor_per_layer(TensorKind k);            // true: "blk.<layer>.<suffix>"
std::string tensor_name(TensorKind k, int64_t layer = -1);
// The layer of a per-layer name ("blk.<layer>." + anything), or -1.
int64_t tensor_layer(const std::string& name);
// Parses a GGUF tensor name; false for a name r1 does not know.
bool parse_tensor_name(const std::string& name, TensorKind* kind, int64_t* layer);

// How a new (trainable) model initialises a tensor: N(0, 0.02), the residual projections
// N(0, 0.02 / sqrt(2 n_layer)) (GPT-2 / llm.c), ones (norm weights), zeros (biases), or a
// value computed from the config (rope_freqs).
enum class Init : uint8_t { normal, residual, ones, zeros, computed };

// Which stored type a file type gives a tensor (quant_type below).
enum class QuantClass : uint8_t {
  vector,     // 1-D: always F32
  router,     // the MoE router: F32 (llama-quantize keeps it)
  embedding,  // token_embd
  output,     // output.weight: Q6_K in Q4_K_M
  matrix,     // other weights: the file type's main type
  sensitive,  // attn_v / ffn_down*: Q6_K in Q4_K_M on the first and last eighth of the layers and every third between
};

// The product a weight feeds, in llama.cpp's terms (kernels/matmul_ops.hpp), which is
// also what the planner may do with it: mul_mat (2-D, repackable), mul_mat_id (routed
// experts, repackable per expert), mul_mat_3d (per-head 3-D weights, never repacked,
// as llama.cpp), get_rows (the embedding: read a row at a time, stays in the file map),
// none (vectors).
enum class Op : uint8_t { none, get_rows, mul_mat, mul_mat_id, mul_mat_3d };

enum class Presence : uint8_t {
  run,      // bound and computed with
  skipped,  // in the file, not computed (deepseek2 multi-token-prediction layers)
};

struct TensorSpec {
  TensorKind kind = TensorKind::count;
  int64_t layer = -1;            // -1 for the global tensors
  std::string name;              // GGUF name
  std::vector<int64_t> shape;    // GGML order: shape[0] = row length; 3-D: shape[2] stacked matrices
  Init init = Init::normal;
  QuantClass quant = QuantClass::matrix;
  Op op = Op::none;
  Presence presence = Presence::run;
  int64_t fan_in = 0;            // gen-model's random scale 1/sqrt(fan_in) (default shape[0])

  int64_t numel() const;
  int64_t rows() const;          // product of shape[1..] (1 for a vector)
  bool is_vector() const { return shape.size() == 1; }
};

// A spec with its name from the name table (fan_in 0: the row length).
TensorSpec make_spec(TensorKind kind, int64_t layer, std::vector<int64_t> shape, Init init, QuantClass quant, Op op,
                     int64_t fan_in = 0);

// Alternatives a file may take; decided from the file (tensor_choices_of) or by the
// writer of a new file. The trainer uses the defaults.
struct TensorChoices {
  bool rope_freqs = false;         // llama: Llama-3 RoPE frequency factors
  bool attn_output_bias = false;   // llama: attn_output.bias
  bool exp_probs_b = true;         // deepseek2 V3/R1: the router's selection bias
  bool fused_gate_up_exps = false; // deepseek2: one ffn_gate_up_exps instead of gate + up
};
TensorChoices tensor_choices_of(const ModelConfig& c, const gguf::File& f);

// The tensors of a model of config `c` (n_vocab and tied_output set), in file order.
// Throws r1::Error for an architecture without a table.
std::vector<TensorSpec> model_tensors(const ModelConfig& c, const TensorChoices& choices = {});
// Per-family tables (registry/dense.cpp, registry/deepseek2.cpp).
std::vector<TensorSpec> dense_tensors(const ModelConfig& c, const TensorChoices& choices);
std::vector<TensorSpec> deepseek2_tensors(const ModelConfig& c, const TensorChoices& choices);

// File types of llama.cpp's general.file_type (LLAMA_FTYPE_*) that r1 writes.
// `r1 quantize` gives every tensor the type llama-quantize's rules give it
// (model/registry/quant_mix.hpp). quant_type below, used by gen-model and the trainer's
// export, applies the same rules one spec at a time, with the layer standing for
// llama.cpp's running counters (exact for the dense families); except that the i-quant
// file types there put their type on every matrix ("pure", as llama-quantize --pure, the
// embedding included) except output.weight, which is Q6_K as in llama.cpp's mixes.
enum class FileType : uint8_t {
  f32, f16, bf16, q8_0, q4_0, q4_k_m,
  iq1_s, iq1_m, iq2_xxs, iq2_xs, iq2_s, iq3_xxs, iq3_s, iq4_nl, iq4_xs,
  q4_1, q5_0, q5_1, q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q5_k_s, q5_k_m, q6_k,
};
// "f32", "q4_k_m", ... case-insensitive; also llama-quantize's aliases q3_k, q4_k, q5_k
// (the _M mixes).
bool parse_file_type(const std::string& s, FileType* out);
const char* file_type_name(FileType t);
uint32_t file_type_id(FileType t);                             // general.file_type value

// The stored type of `spec` in a file of type `ft` (n_layer for the layer-dependent
// Q4_K_M rule), falling back as llama-quantize does when the row length is not a
// multiple of the block size (Q4_K -> Q5_0, Q6_K -> Q8_0, then F16).
// `overrides` (llama-quantize --tensor-type): the first whose ECMAScript regex `pattern`
// matches part of the tensor's name gives its type instead (same fallbacks).
struct TypeOverride {
  std::string pattern;
  DType type;
};
DType quant_type(const TensorSpec& spec, FileType ft, int64_t n_layer, const std::vector<TypeOverride>& overrides = {});
// Parses "PATTERN=TYPE" (TYPE a ggml type name such as q4_k or iq1_s); throws r1::Error.
TypeOverride parse_type_override(const std::string& text);
// The names parse_file_type accepts, comma-separated (for messages).
std::string file_type_names();

// Whether the planner may repack a weight of this family and type for the CPU's kernels
// (only changes the float order). deepseek2 keeps Q8_0 / Q6_K row-major: llama.cpp has no
// packed kernel for them on x86, and the top-k expert routing turns a different float
// order into different experts for near-tied tokens (tiny-v3 Q8_0: mean KL 0.027 against
// llama.cpp packed, ~1e-6 row-major).
bool repackable(Arch arch, const TensorSpec& spec, DType type);

}  // namespace r1
