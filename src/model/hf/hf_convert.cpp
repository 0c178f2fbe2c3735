#include "model/hf/hf_convert.hpp"

#include <cstring>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "format/gguf_writer.hpp"

namespace r1 {

namespace {

// Rows of `cols` elements: `from` -> `to`, split over the pool in chunks (row order and
// per-row arithmetic fixed, so the bytes do not depend on the thread count).
void convert_rows(const uint8_t* src, DType from, uint8_t* dst, DType to, int64_t rows, int64_t cols,
                  ThreadPool& pool) {
  const TypeTraits& tf = traits(from);
  const TypeTraits& tt = traits(to);
  if (to != DType::F32 && !tt.from_float)
    fail("convert: no quantizer for {} (use `r1 quantize` on an F16/BF16 conversion)", tt.name);
  const size_t in_rb = row_bytes(from, cols), out_rb = row_bytes(to, cols);
  constexpr int64_t kChunk = 16;
  const int64_t n_chunks = (rows + kChunk - 1) / kChunk;
  pool.run([&](int t) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t c = t; c < n_chunks; c += pool.size())
      for (int64_t r = c * kChunk; r < std::min(rows, (c + 1) * kChunk); ++r) {
        const uint8_t* in = src + static_cast<size_t>(r) * in_rb;
        uint8_t* out = dst + static_cast<size_t>(r) * out_rb;
        if (from == DType::F32) std::memcpy(row.data(), in, in_rb);
        else tf.to_float(in, row.data(), cols);
        if (to == DType::F32) std::memcpy(out, row.data(), out_rb);
        else tt.from_float(row.data(), out, cols);
      }
  });
}

}  // namespace

ConvertSummary convert_hf_checkpoint(const HfCheckpoint& ckpt, const std::string& out, const ConvertOptions& opts) {
  ConvertSummary sum;
  sum.type = opts.type ? *opts.type : hf_source_file_type(ckpt);
  const ModelConfig& c = ckpt.config();
  ThreadPool pool(opts.threads);
  gguf::Writer w;
  w.metadata() = ckpt.metadata();
  w.set("general.file_type", gguf::Value::from_u32(file_type_id(sum.type)));
  const size_t n = ckpt.tensors().size();
  std::vector<DType> types(n);
  for (size_t i = 0; i < n; ++i) {
    const TensorSpec& s = ckpt.tensors()[i];
    types[i] = quant_type(s, sum.type, c.n_layer, opts.tensor_types);
    if (types[i] != DType::F32 && !traits(types[i]).from_float)
      fail("convert: {} would be stored as {}, which convert cannot quantize (use `r1 quantize` afterwards)", s.name,
           dtype_name(types[i]));
  }
  bool quantized = false;
  std::vector<uint8_t> view_scratch;  // converted (permuted, stacked, ...) tensors written as views
  for (size_t i = 0; i < n; ++i) {
    const TensorSpec& s = ckpt.tensors()[i];
    const DType to = types[i];
    quantized = quantized || traits(to).quantized;
    sum.bytes_in += ckpt.source_bytes(i);
    if (to == ckpt.source_type(i)) {  // stored as the checkpoint has it: written from the mapping
      w.add_tensor_view(s.name, to, s.shape, [&ckpt, &opts, &pool, &sum, &view_scratch, i, n, to]() {
        if (opts.progress) opts.progress(i, n, ckpt.tensors()[i], to);
        sum.bytes_out += ckpt.source_bytes(i);
        return ckpt.bytes(i, view_scratch, pool);  // reused: the writer is done with the previous one
      });
      continue;
    }
    w.add_tensor(s.name, to, s.shape, [&ckpt, &opts, &pool, &sum, i, n, to](uint8_t* dst, size_t nbytes) {
      const TensorSpec& s = ckpt.tensors()[i];
      if (opts.progress) opts.progress(i, n, s, to);
      std::vector<uint8_t> scratch;
      const uint8_t* src = ckpt.bytes(i, scratch, pool);
      const DType from = ckpt.source_type(i);
      if (from == to) std::memcpy(dst, src, nbytes);
      else convert_rows(src, from, dst, to, s.rows(), s.shape[0], pool);
      sum.bytes_out += nbytes;
    });
  }
  if (quantized) w.set("general.quantization_version", gguf::Value::from_u32(2));
  w.write(out);
  sum.tensors = n;
  return sum;
}

}  // namespace r1
