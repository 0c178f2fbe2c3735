// r1 quantize's driver; see quantize_file.hpp. The order of checks and the metadata keys
// follow llama.cpp's llama_model_quantize_impl and tools/quantize/quantize.cpp.
#include "model/quantize_file.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "base/timing.hpp"
#include "format/gguf.hpp"
#include "format/gguf_writer.hpp"
#include "format/imatrix.hpp"
#include "kernels/quantize_rows.hpp"
#include "model/registry/quant_mix.hpp"

namespace r1 {

namespace {

constexpr uint32_t kQuantizationVersion = 2;  // GGML_QNT_VERSION
constexpr int64_t kMinChunkElements = 32 * 512;  // llama.cpp's smallest work unit

// A metadata integer that may be stored per layer as an array: the value of layer 0.
int64_t first_int(const gguf::Metadata& md, const std::string& key, int64_t fallback) {
  const gguf::Value* v = md.find(key);
  if (!v) return fallback;
  if (v->type == gguf::ValueType::ARRAY) return v->arr.empty() ? fallback : v->arr[0].as_i64(key);
  return v->as_i64(key);
}

MixModel mix_model_of(const gguf::File& f) {
  const gguf::Metadata& md = f.metadata();
  MixModel m;
  m.arch = md.get_string_or("general.architecture", "");
  if (m.arch.empty()) fail("{}: no general.architecture (not a model file?)", f.name());
  m.n_layer = first_int(md, m.arch + ".block_count", 0);
  m.n_head = first_int(md, m.arch + ".attention.head_count", 0);
  m.n_head_kv = first_int(md, m.arch + ".attention.head_count_kv", m.n_head);
  m.n_expert = first_int(md, m.arch + ".expert_count", 0);
  if (m.n_layer < 1 || m.n_layer > 100000)
    fail("{}: {}.block_count is {} (expected a layer count)", f.name(), m.arch, m.n_layer);
  return m;
}

bool can_read(DType t) {
  if (t == DType::F32 || t == DType::F16 || t == DType::BF16) return true;
  const TypeTraits* tr = find_traits(t);
  return tr && tr->quantized && tr->to_float;
}

std::string truncated(const std::string& s, size_t n) { return s.size() > n ? s.substr(0, n) : s; }

// The metadata of the output: the input's, less the split keys, with llama-quantize's.
void copy_metadata(const gguf::File& in, const QuantizeOptions& o, const Imatrix* im, gguf::Writer& w) {
  for (const auto& [key, value] : in.metadata().entries()) {
    if (key == "split.no" || key == "split.count" || key == "split.tensors.count") continue;
    w.set(key, value);
  }
  w.set("general.quantization_version", gguf::Value::from_u32(kQuantizationVersion));
  w.set("general.file_type", gguf::Value::from_u32(file_type_id(o.file_type)));
  if (im) {
    // quantize.cpp passes these as overrides into 128-byte strings; integers become u32
    w.set("quantize.imatrix.file", gguf::Value::from_string(truncated(o.imatrix, 127)));
    if (!im->datasets.empty()) w.set("quantize.imatrix.dataset", gguf::Value::from_string(truncated(im->datasets[0], 127)));
    w.set("quantize.imatrix.entries_count", gguf::Value::from_u32(static_cast<uint32_t>(im->entries.size())));
    if (im->chunk_count > 0)
      w.set("quantize.imatrix.chunks_count", gguf::Value::from_u32(static_cast<uint32_t>(im->chunk_count)));
  }
}

// What one tensor needs to be converted.
struct Job {
  const gguf::TensorInfo* in = nullptr;
  DType to = DType::F32;
  const std::vector<float>* imatrix = nullptr;  // n_per_row * n_mat, or null
};

// Converts the rows of one tensor into dst, in parallel over row chunks.
void convert(const Job& job, uint8_t* dst, ThreadPool& pool) {
  const gguf::TensorInfo& t = *job.in;
  const int64_t n_per_row = t.shape[0], nrows = t.n_rows();
  const int64_t rows_per_mat = t.shape.size() > 1 ? t.shape[1] : 1;
  const size_t in_row = row_bytes(t.type, n_per_row), out_row = row_bytes(job.to, n_per_row);
  const int64_t chunk_rows = std::max<int64_t>(1, (kMinChunkElements + n_per_row - 1) / n_per_row);
  const int64_t n_chunks = (nrows + chunk_rows - 1) / chunk_rows;
  const TypeTraits* src_traits = t.type == DType::F32 ? nullptr : &traits(t.type);
  pool.run_chunks(n_chunks, [&](int64_t c) {
    const int64_t r0 = c * chunk_rows, r1 = std::min(nrows, r0 + chunk_rows);
    std::vector<float> scratch;
    const float* x = reinterpret_cast<const float*>(t.data + static_cast<size_t>(r0) * in_row);
    if (src_traits) {
      scratch.resize(static_cast<size_t>((r1 - r0) * n_per_row));
      src_traits->to_float(t.data + static_cast<size_t>(r0) * in_row, scratch.data(), (r1 - r0) * n_per_row);
      x = scratch.data();
    }
    // rows of one expert share its slice of the importance matrix
    for (int64_t r = r0; r < r1;) {
      const int64_t mat = r / rows_per_mat;
      const int64_t end = std::min(r1, (mat + 1) * rows_per_mat);
      const float* qw = job.imatrix ? job.imatrix->data() + mat * n_per_row : nullptr;
      quantize_rows(job.to, x + (r - r0) * n_per_row, dst + static_cast<size_t>(r) * out_row, end - r, n_per_row, qw);
      r = end;
    }
  });
}

}  // namespace

QuantizeReport quantize_file(const QuantizeOptions& o) {
  const double t0 = now_seconds();
  if (!o.dry_run) {
    std::error_code ec;
    if (std::filesystem::equivalent(o.input, o.output, ec))
      fail("input and output are the same file: '{}'", o.input);
  }
  const auto in = gguf::File::open(o.input);
  const MixModel model = mix_model_of(*in);

  std::unique_ptr<Imatrix> im;
  if (!o.imatrix.empty()) im = std::make_unique<Imatrix>(load_imatrix(o.imatrix));

  MixParams params;
  params.file_type = o.file_type;
  params.has_imatrix = im != nullptr;
  params.pure = o.pure;
  params.quantize_output = !o.leave_output;
  params.overrides = o.overrides;
  if (o.output_type) {
    params.has_output_type = true;
    params.output_type = *o.output_type;
  }
  if (o.token_embd_type) {
    params.has_token_embd_type = true;
    params.token_embd_type = *o.token_embd_type;
  }
  std::vector<MixTensor> mix;
  for (const auto& t : in->tensors()) mix.push_back(MixTensor{t.name, t.shape, t.type});
  const MixPlan plan = plan_tensor_types(mix, model, params);

  // Validate every tensor before writing anything.
  std::vector<std::string> names;
  for (const auto& t : in->tensors()) names.push_back(t.name);
  const std::vector<size_t> order = llama_tensor_order(names);
  std::vector<Job> jobs(in->tensors().size());
  for (size_t i : order) {
    const gguf::TensorInfo& t = in->tensors()[i];
    Job& job = jobs[i];
    job.in = &t;
    job.to = plan.types[i];
    if (plan.quantizable[i] && plan.needs_imatrix[i] && !im)
      fail("{} needs an importance matrix: tensor '{}' would be {} (pass --imatrix FILE; "
           "`llama-imatrix` or `r1 imatrix` computes one)",
           file_type_name(o.file_type), t.name, dtype_name(job.to));
    if (job.to == t.type) continue;
    if (im) {
      const auto it = im->entries.find(t.name);
      const int64_t n_mat = t.shape.size() > 2 ? t.shape[2] : 1;
      if (it != im->entries.end()) {
        if (it->second.size() == static_cast<size_t>(t.shape[0] * n_mat)) job.imatrix = &it->second;
        else if (!is_token_embd(t.name))  // llama.cpp lets a mismatch pass there
          fail("{}: importance matrix entry '{}' has {} values, the tensor needs {} ({} columns x {} matrices)",
               o.imatrix, t.name, it->second.size(), t.shape[0] * n_mat, t.shape[0], n_mat);
      }
      if (!job.imatrix && plan.needs_imatrix[i])
        fail("{}: no importance matrix entry for tensor '{}', which {} quantizes to {}", o.imatrix, t.name,
             file_type_name(o.file_type), dtype_name(job.to));
    }
    const TypeTraits* src = find_traits(t.type);
    if (src && src->quantized && !o.allow_requantize)
      fail("{}: tensor '{}' is already quantized ({}); requantizing loses precision, pass --allow-requantize to "
           "do it anyway",
           in->name(), t.name, dtype_name(t.type));
    if (!can_read(t.type))
      fail("{}: tensor '{}' has type {}, which r1 cannot convert", in->name(), t.name, dtype_name(t.type));
    if (!quantize_supported(job.to))
      fail("tensor '{}': r1 quantize cannot write type {} yet", t.name, dtype_name(job.to));
    if (t.shape[0] % dtype_block_size(job.to) != 0)
      fail("tensor '{}': row length {} is not a multiple of {}'s block size", t.name, t.shape[0], dtype_name(job.to));
  }

  QuantizeReport report;
  report.n_tensors = order.size();
  report.n_fallback = static_cast<size_t>(plan.n_fallback);
  report.imatrix_entries = im ? im->entries.size() : 0;
  gguf::Writer w(in->alignment());
  copy_metadata(*in, o, im.get(), w);
  ThreadPool pool(o.threads);
  for (size_t pos = 0; pos < order.size(); ++pos) {
    const size_t i = order[pos];
    const Job& job = jobs[i];
    const gguf::TensorInfo& t = *job.in;
    QuantizedTensor q;
    q.index = pos;
    q.count = order.size();
    q.name = t.name;
    q.shape = t.shape;
    q.from = t.type;
    q.to = job.to;
    q.bytes_in = t.nbytes;
    q.bytes_out = row_bytes(job.to, t.shape[0]) * static_cast<uint64_t>(t.n_rows());
    q.converted = job.to != t.type;
    q.used_imatrix = job.imatrix != nullptr;
    report.input_bytes += q.bytes_in;
    report.output_bytes += q.bytes_out;
    report.n_elements += static_cast<uint64_t>(t.n_elements());
    if (q.converted) ++report.n_converted;
    report.tensors.push_back(q);
    if (o.dry_run) {
      if (o.on_tensor) o.on_tensor(q);
      continue;
    }
    w.add_tensor(t.name, job.to, t.shape, [&job, &pool, q, &o](uint8_t* dst, size_t nbytes) {
      if (job.to == job.in->type) std::memcpy(dst, job.in->data, nbytes);
      else convert(job, dst, pool);
      if (o.on_tensor) o.on_tensor(q);
    });
  }
  if (!o.dry_run) w.write(o.output);
  report.seconds = now_seconds() - t0;
  return report;
}

}  // namespace r1
