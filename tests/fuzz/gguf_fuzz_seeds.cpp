// Writes the GGUF fuzzer's seed corpus: a handful of tiny valid files (made with
// the writer) covering every metadata type, nested arrays, several tensor types,
// a non-default alignment and a v2 header, and deepseek2 attention in the legacy MLA
// layout, valid and with the inconsistencies the model loader must name (attn_kv_b of
// the wrong shape, contradicting keys), and a tiny llama model whose matrices are the nine
// i-quant types, valid and broken (truncated data, a 256-block i-quant row of 128 values,
// an unknown type id next to the i-quant ids).   usage: gguf_fuzz_seeds DIR
//
// tests/unit/model_iquant_load_test.cpp includes this file with R1_GGUF_FUZZ_SEEDS_NO_MAIN
// defined and loads the i-quant seeds written by write_iquant_seeds() as models.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "format/gguf_writer.hpp"

using r1::DType;
using r1::gguf::Value;
using r1::gguf::ValueType;
using r1::gguf::Writer;

namespace {

[[maybe_unused]] Value typed(ValueType t, uint64_t u, int64_t i, double f) {
  Value v;
  v.type = t;
  v.u = u;
  v.i = i;
  v.f = f;
  return v;
}

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> b(n);
  for (size_t k = 0; k < n; ++k) b[k] = static_cast<uint8_t>(k * 37 + 11);
  return b;
}

void add(Writer& w, const char* name, DType type, std::vector<int64_t> shape, size_t nbytes) {
  const auto bytes = pattern(nbytes);
  w.add_tensor(name, type, std::move(shape), bytes.data(), bytes.size());
}

// One deepseek2 layer's attention in the legacy MLA layout (no *_mla keys; one attn_kv_b
// of ne = [kv_lora_rank 32, head_count 2 x (qk_nope 16 + v_head 16)]), with `kv_b` as
// its shape and `head_count_kv`; `mla_keys` adds the split layout's keys as well.
[[maybe_unused]] void deepseek2_legacy(const std::filesystem::path& path, std::vector<int64_t> kv_b, uint32_t head_count_kv,
                      bool mla_keys) {
  Writer w;
  const std::string a = "deepseek2.";
  w.set("general.architecture", Value::from_string("deepseek2"));
  w.set(a + "block_count", Value::from_u32(1));
  w.set(a + "context_length", Value::from_u32(256));
  w.set(a + "embedding_length", Value::from_u32(64));
  w.set(a + "feed_forward_length", Value::from_u32(64));
  w.set(a + "leading_dense_block_count", Value::from_u32(1));
  w.set(a + "attention.head_count", Value::from_u32(2));
  w.set(a + "attention.head_count_kv", Value::from_u32(head_count_kv));
  w.set(a + "attention.layer_norm_rms_epsilon", Value::from_f32(1e-6f));
  w.set(a + "attention.kv_lora_rank", Value::from_u32(32));
  w.set(a + "attention.key_length", Value::from_u32(24));  // qk_nope 16 + rope 8
  w.set(a + "attention.value_length", Value::from_u32(16));
  if (mla_keys) {
    w.set(a + "attention.key_length_mla", Value::from_u32(24));
    w.set(a + "attention.value_length_mla", Value::from_u32(16));
  }
  w.set(a + "rope.dimension_count", Value::from_u32(8));
  add(w, "token_embd.weight", DType::F32, {64, 4}, 64 * 4 * 4);
  add(w, "blk.0.attn_q.weight", DType::F16, {64, 48}, 64 * 48 * 2);
  add(w, "blk.0.attn_kv_a_mqa.weight", DType::Q8_0, {64, 40}, 40 * 2 * 34);  // latent 32 + rope 8
  add(w, "blk.0.attn_kv_a_norm.weight", DType::F32, {32}, 32 * 4);
  const auto kv_bytes = static_cast<size_t>(kv_b[0] / 32 * 34 * kv_b[1]);
  add(w, "blk.0.attn_kv_b.weight", DType::Q8_0, std::move(kv_b), kv_bytes);
  add(w, "blk.0.attn_output.weight", DType::F16, {32, 64}, 32 * 64 * 2);
  w.write(path.string());
}

// ---- i-quant seeds ----------------------------------------------------------------
// i-quant block bytes need no codebook: every index addresses a grid entry. Only the fp16
// super-block scale must be finite, so each block gets pseudo-random bytes and then
// d = 2^-10 (f16 0x1400): at offset 0 for every type but IQ1_M, whose scale is the top
// nibbles of its four 16-bit scale words (bytes 48..55, low nibble first).
std::vector<uint8_t> iquant_blocks(DType type, int64_t n_blocks, uint32_t seed) {
  const size_t bb = r1::dtype_block_bytes(type);
  std::vector<uint8_t> b(bb * static_cast<size_t>(n_blocks));
  uint32_t x = seed * 2654435761u + 1;
  for (auto& v : b) {
    x = x * 1664525u + 1013904223u;
    v = static_cast<uint8_t>(x >> 24);
  }
  constexpr uint16_t kScale = 0x1400;
  for (size_t o = 0; o < b.size(); o += bb) {
    if (type == DType::IQ1_M) {
      for (int k = 0; k < 4; ++k) {
        uint8_t& hi = b[o + 48 + 2 * k + 1];
        hi = static_cast<uint8_t>((hi & 0x0f) | (((kScale >> (4 * k)) & 0xf) << 4));
      }
    } else {
      b[o] = kScale & 0xff;
      b[o + 1] = kScale >> 8;
    }
  }
  return b;
}

void add_iquant(Writer& w, const std::string& name, DType type, std::vector<int64_t> shape, uint32_t seed) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  const auto bytes = iquant_blocks(type, n / r1::dtype_block_size(type), seed);
  w.add_tensor(name, type, std::move(shape), bytes.data(), bytes.size());
}

std::vector<char> slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spill(const std::filesystem::path& p, const std::vector<char>& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Offset of the n_dims field of tensor `name`'s info record (found by its length-prefixed
// name, which the header holds once).
size_t tensor_info_at(const std::vector<char>& file, const std::string& name) {
  std::string key(8, '\0');
  const uint64_t len = name.size();
  std::memcpy(key.data(), &len, 8);
  key += name;
  const auto it = std::search(file.begin(), file.end(), key.begin(), key.end());
  if (it == file.end()) throw std::runtime_error("tensor info of '" + name + "' not found");
  return static_cast<size_t>(it - file.begin()) + key.size();
}

// The i-quant llama: 1 layer, n_embd 256, 2 heads of 64 (attention.key_length), n_ff 256,
// 16 tokens; F32 norms, one i-quant type per matrix (all nine; IQ4_NL, the 32-block one,
// where the row is 128 long).
struct IquantTensor {
  const char* name;
  DType type;
  std::vector<int64_t> shape;
};
const std::vector<IquantTensor>& iquant_llama_tensors() {
  static const std::vector<IquantTensor> t = {
      {"token_embd.weight", DType::IQ4_XS, {256, 16}},     {"output_norm.weight", DType::F32, {256}},
      {"output.weight", DType::IQ3_S, {256, 16}},          {"blk.0.attn_norm.weight", DType::F32, {256}},
      {"blk.0.attn_q.weight", DType::IQ2_XXS, {256, 128}}, {"blk.0.attn_k.weight", DType::IQ1_S, {256, 64}},
      {"blk.0.attn_v.weight", DType::IQ2_XS, {256, 64}},   {"blk.0.attn_output.weight", DType::IQ4_NL, {128, 256}},
      {"blk.0.ffn_norm.weight", DType::F32, {256}},        {"blk.0.ffn_gate.weight", DType::IQ2_S, {256, 256}},
      {"blk.0.ffn_up.weight", DType::IQ1_M, {256, 256}},   {"blk.0.ffn_down.weight", DType::IQ3_XXS, {256, 256}},
  };
  return t;
}

// Writes iquant_llama.gguf (valid) and its broken variants into `dir`:
//   iquant_truncated.gguf      the last tensor (blk.0.ffn_down, IQ3_XXS) cut in half
//   iquant_row_not_256.gguf    blk.0.attn_q (IQ2_XXS) declared [128, 256]: same bytes, rows of 128
//   iquant_unknown_type.gguf   blk.0.ffn_up's type id IQ1_M (29) replaced by 31 (no such type)
void write_iquant_seeds(const std::filesystem::path& dir) {
  Writer w;
  const std::string a = "llama.";
  w.set("general.architecture", Value::from_string("llama"));
  w.set(a + "block_count", Value::from_u32(1));
  w.set(a + "context_length", Value::from_u32(256));
  w.set(a + "embedding_length", Value::from_u32(256));
  w.set(a + "feed_forward_length", Value::from_u32(256));
  w.set(a + "attention.head_count", Value::from_u32(2));
  w.set(a + "attention.head_count_kv", Value::from_u32(1));
  w.set(a + "attention.key_length", Value::from_u32(64));
  w.set(a + "attention.value_length", Value::from_u32(64));
  w.set(a + "attention.layer_norm_rms_epsilon", Value::from_f32(1e-5f));
  std::vector<std::string> tokens = {"a", "b", "c", "d", "e", "f", "g", "h", "ab", "cd", "ef", "gh", "abcd", "efgh", "<s>", "</s>"};
  std::vector<int32_t> types(tokens.size(), 1);
  types[14] = types[15] = 3;
  w.set("tokenizer.ggml.model", Value::from_string("gpt2"));
  w.set("tokenizer.ggml.tokens", Value::from_strings(tokens));
  w.set("tokenizer.ggml.token_type", Value::from_i32s(types));
  w.set("tokenizer.ggml.merges", Value::from_strings({"a b", "c d", "e f", "g h", "ab cd", "ef gh"}));
  w.set("tokenizer.ggml.bos_token_id", Value::from_u32(14));
  w.set("tokenizer.ggml.eos_token_id", Value::from_u32(15));
  uint32_t seed = 1;
  for (const auto& t : iquant_llama_tensors()) {
    if (t.type == DType::F32) {
      const std::vector<float> ones(static_cast<size_t>(t.shape[0]), 1.0f);
      w.add_tensor(t.name, t.type, t.shape, ones.data(), ones.size() * sizeof(float));
    } else {
      add_iquant(w, t.name, t.type, t.shape, seed++);
    }
  }
  const auto valid = dir / "iquant_llama.gguf";
  w.write(valid.string());
  const std::vector<char> file = slurp(valid);

  std::vector<char> cut = file;
  cut.resize(cut.size() - r1::row_bytes(DType::IQ3_XXS, 256) * 256 / 2);
  spill(dir / "iquant_truncated.gguf", cut);

  std::vector<char> rows = file;
  const size_t q = tensor_info_at(rows, "blk.0.attn_q.weight");  // u32 n_dims, u64 ne0, u64 ne1
  const uint64_t ne[2] = {128, 256};
  std::memcpy(rows.data() + q + 4, ne, sizeof ne);
  spill(dir / "iquant_row_not_256.gguf", rows);

  std::vector<char> unknown = file;
  const size_t u = tensor_info_at(unknown, "blk.0.ffn_up.weight");  // u32 n_dims, 2 x u64, u32 type
  const uint32_t id = 31;
  std::memcpy(unknown.data() + u + 4 + 16, &id, sizeof id);
  spill(dir / "iquant_unknown_type.gguf", unknown);
}

}  // namespace

#ifndef R1_GGUF_FUZZ_SEEDS_NO_MAIN
int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  try {
    std::filesystem::create_directories(dir);
    Writer empty;
    empty.write((dir / "empty.gguf").string());

    Writer scalars;
    scalars.set("u8", typed(ValueType::UINT8, 200, 0, 0));
    scalars.set("i8", typed(ValueType::INT8, 0, -3, 0));
    scalars.set("u16", typed(ValueType::UINT16, 60000, 0, 0));
    scalars.set("i16", typed(ValueType::INT16, 0, -300, 0));
    scalars.set("u32", Value::from_u32(123456));
    scalars.set("i32", Value::from_i32(-123456));
    scalars.set("f32", Value::from_f32(0.5f));
    scalars.set("b", Value::from_bool(true));
    scalars.set("s", Value::from_string("qwen2"));
    scalars.set("u64", Value::from_u64(1ull << 40));
    scalars.set("i64", typed(ValueType::INT64, 0, -(1ll << 40), 0));
    scalars.set("f64", typed(ValueType::FLOAT64, 0, 0, 1e-6));
    scalars.write((dir / "scalars.gguf").string());

    Writer arrays;
    arrays.set("tokenizer.ggml.tokens", Value::from_strings({"<s>", "a", ""}));
    arrays.set("tokenizer.ggml.scores", Value::from_f32s({0, -1, -2}));
    arrays.set("tokenizer.ggml.token_type", Value::from_i32s({3, 1, 1}));
    Value nested;
    nested.type = ValueType::ARRAY;
    nested.elem_type = ValueType::ARRAY;
    nested.arr = {Value::from_i32s({1, 2}), Value::from_strings({"x"})};
    arrays.set("nested", nested);
    arrays.write((dir / "arrays.gguf").string());

    Writer tensors;
    tensors.set("general.architecture", Value::from_string("llama"));
    add(tensors, "token_embd.weight", DType::F32, {4, 2}, 32);
    add(tensors, "blk.0.attn_q.weight", DType::Q8_0, {32, 2}, 68);
    add(tensors, "output_norm.weight", DType::F16, {4}, 8);
    tensors.write((dir / "tensors.gguf").string());

    Writer aligned(64);
    add(aligned, "blk.0.ffn_down.weight", DType::Q4_K, {256}, 144);
    add(aligned, "blk.0.ffn_up.weight", DType::BF16, {3, 1, 1, 2}, 12);
    aligned.write((dir / "aligned64.gguf").string());

    deepseek2_legacy(dir / "deepseek2_legacy.gguf", {32, 64}, 2, false);
    deepseek2_legacy(dir / "deepseek2_legacy_kv_b_ne0.gguf", {64, 64}, 2, false);   // rows not kv_lora_rank long
    deepseek2_legacy(dir / "deepseek2_legacy_kv_b_ne1.gguf", {32, 60}, 2, false);   // not 2 x (16 + 16) rows
    deepseek2_legacy(dir / "deepseek2_legacy_head_count_kv.gguf", {32, 64}, 1, false);  // must be head_count
    deepseek2_legacy(dir / "deepseek2_legacy_mla_keys.gguf", {32, 64}, 2, true);    // split keys, legacy tensor
    write_iquant_seeds(dir);

    // The same tensor file with a v2 header (identical layout otherwise).
    std::ifstream in(dir / "tensors.gguf", std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes.at(4) = 2;
    std::ofstream(dir / "tensors_v2.gguf", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gguf_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
#endif
