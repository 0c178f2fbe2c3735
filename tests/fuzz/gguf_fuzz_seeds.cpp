// Writes the GGUF fuzzer's seed corpus: a handful of tiny valid files (made with
// the writer) covering every metadata type, nested arrays, several tensor types,
// a non-default alignment and a v2 header, and deepseek2 attention in the legacy MLA
// layout, valid and with the inconsistencies the model loader must name (attn_kv_b of
// the wrong shape, contradicting keys).   usage: gguf_fuzz_seeds DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "format/gguf_writer.hpp"

using r1::DType;
using r1::gguf::Value;
using r1::gguf::ValueType;
using r1::gguf::Writer;

namespace {

Value typed(ValueType t, uint64_t u, int64_t i, double f) {
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
void deepseek2_legacy(const std::filesystem::path& path, std::vector<int64_t> kv_b, uint32_t head_count_kv,
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

}  // namespace

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
