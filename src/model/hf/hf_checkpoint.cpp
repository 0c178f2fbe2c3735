#include "model/hf/hf_checkpoint.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>
#include <fstream>
#include <set>
#include <sstream>

#include <sys/mman.h>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "format/gguf_writer.hpp"
#include "model/weights.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {

namespace fs = std::filesystem;

namespace {

constexpr uintmax_t kMaxJsonBytes = 64u << 20;  // config / generation_config / tokenizer_config

std::string read_small_file(const fs::path& p) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(p, ec);
  if (ec) fail("cannot read '{}': {}", p.string(), ec.message());
  if (size > kMaxJsonBytes) fail("'{}' is {} bytes (at most {} expected)", p.string(), size, kMaxJsonBytes);
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in && !in.eof()) fail("cannot read '{}'", p.string());
  return ss.str();
}

size_t element_bytes(DType t) { return t == DType::F32 ? 4 : 2; }

// The GGUF type a safetensors dtype is stored in without conversion, or F32 (converted).
DType natural_type(safetensors::Dtype d) {
  using D = safetensors::Dtype;
  return d == D::F16 ? DType::F16 : d == D::BF16 ? DType::BF16 : DType::F32;
}
bool is_plain(safetensors::Dtype d) {
  using D = safetensors::Dtype;
  return d == D::F32 || d == D::F16 || d == D::BF16;
}

std::vector<int64_t> reversed(std::vector<int64_t> v) {
  std::reverse(v.begin(), v.end());
  return v;
}

std::string shape_text(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

}  // namespace

bool is_hf_model_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::is_regular_file(fs::path(path) / "config.json", ec);
}

std::unique_ptr<HfCheckpoint> HfCheckpoint::open(const std::string& dir) {
  if (!is_hf_model_dir(dir)) fail("'{}' is not a Hugging Face model directory (no config.json)", dir);
  std::unique_ptr<HfCheckpoint> c(new HfCheckpoint());
  c->dir_ = dir;
  const fs::path d(dir);
  std::string name = fs::absolute(d).lexically_normal().filename().string();
  if (name.empty()) name = fs::absolute(d).lexically_normal().parent_path().filename().string();
  c->hf_ = parse_hf_config(read_small_file(d / "config.json"), (d / "config.json").string(), name);
  c->warnings_ = c->hf_.warnings;
  if (c->hf_.dropped_nextn > 0)
    c->warnings_.push_back(fmt::format("{} multi-token-prediction layer(s) not converted (llama.cpp drops them too)",
                                       c->hf_.dropped_nextn));
  c->st_ = safetensors::Model::open(dir);

  const fs::path tok = d / "tokenizer.json";
  if (!fs::is_regular_file(tok))
    fail("{}: no tokenizer.json (r1 reads Hugging Face fast tokenizers; a tokenizer.model-only checkpoint is not "
         "supported)",
         dir);
  VocabData vocab = load_hf_vocab(tok.string());

  ModelConfig raw = c->hf_.cfg;
  const safetensors::TensorInfo* embd = c->st_->find(hf_source_of(make_spec(TensorKind::token_embd, -1, {1, 1},
                                                                            Init::normal, QuantClass::embedding,
                                                                            Op::get_rows),
                                                                  raw)
                                                         .names[0]);
  if (!embd || embd->shape.size() != 2 || embd->shape[1] != raw.n_embd)
    fail("{}: the embedding (model.embed_tokens.weight) is missing or not [vocab, hidden_size {}]", dir, raw.n_embd);
  raw.n_vocab = embd->shape[0];
  if (c->hf_.cfg.n_vocab > 0 && c->hf_.cfg.n_vocab != raw.n_vocab)
    c->warnings_.push_back(fmt::format("config.json vocab_size {} but the embedding has {} rows (using the embedding)",
                                       c->hf_.cfg.n_vocab, raw.n_vocab));
  const bool has_lm_head =
      c->st_->find(hf_source_of(make_spec(TensorKind::output, -1, {1, 1}, Init::normal, QuantClass::output, Op::mul_mat),
                                raw)
                       .names[0]) != nullptr;
  if (!has_lm_head && !raw.tied_output)
    c->warnings_.push_back("no lm_head.weight: the output projection reuses the embedding");
  raw.tied_output = !has_lm_head;
  if (static_cast<int64_t>(vocab.tokens.size()) > raw.n_vocab)
    fail("{}: tokenizer.json has {} tokens but the embedding only {} rows", dir, vocab.tokens.size(), raw.n_vocab);

  c->choices_ = c->hf_.choices;
  if (raw.arch == Arch::deepseek2 && raw.moe.n_dense_lead < raw.n_layer) {
    const TensorSpec bias = make_spec(TensorKind::exp_probs_b, raw.moe.n_dense_lead, {1}, Init::zeros,
                                      QuantClass::vector, Op::none);
    c->choices_.exp_probs_b = c->st_->find(hf_source_of(bias, raw).names[0]) != nullptr;
  }

  gguf::Writer w;
  write_config_metadata(w, raw);
  const fs::path gen = d / "generation_config.json";
  if (fs::is_regular_file(gen)) {
    const HfSampling s = parse_hf_generation_config(read_small_file(gen), gen.string());
    if (s.top_k >= 0) w.set("general.sampling.top_k", gguf::Value::from_i32(static_cast<int32_t>(s.top_k)));
    if (s.top_p >= 0) w.set("general.sampling.top_p", gguf::Value::from_f32(s.top_p));
    if (s.temp >= 0) w.set("general.sampling.temp", gguf::Value::from_f32(s.temp));
  }
  write_vocab_metadata(w, std::move(vocab), raw.n_vocab);
  c->metadata_ = w.metadata();
  try {
    c->cfg_ = ModelConfig::from_gguf(c->metadata_);
  } catch (const Error& e) {
    fail("{}: config.json gives an invalid model: {}", dir, e.what());
  }
  c->cfg_.n_vocab = raw.n_vocab;
  c->cfg_.tied_output = raw.tied_output;
  c->specs_ = model_tensors(c->cfg_, c->choices_);
  c->plan_tensors();
  return c;
}

void HfCheckpoint::plan_tensors() {
  std::set<std::string> used;
  plan_.resize(specs_.size());
  const ModelConfig& c = cfg_;
  for (size_t i = 0; i < specs_.size(); ++i) {
    const TensorSpec& s = specs_[i];
    Plan& p = plan_[i];
    p.src = hf_source_of(s, c);
    if (p.src.how == HfTransform::computed) continue;  // F32, made from the config
    // The HF shape each part must have.
    std::vector<int64_t> want = reversed(s.shape);
    if (p.src.how == HfTransform::stack) want = {s.shape[1], s.shape[0]};
    if (p.src.how == HfTransform::kv_b_key_t || p.src.how == HfTransform::kv_b_value)
      want = {c.n_head * (c.mla.qk_nope + c.mla.v_head), c.mla.kv_lora_rank};
    bool plain = true;
    std::optional<safetensors::Dtype> common;
    for (const std::string& n : p.src.names) {
      const safetensors::TensorInfo* t = st_->find(n);
      if (!t) fail("{}: tensor '{}' (for {}) is missing", dir_, n, s.name);
      if (t->shape != want)
        fail("{}: tensor '{}' (for {}) has shape {}, expected {}", dir_, n, s.name, shape_text(t->shape),
             shape_text(want));
      if (!safetensors::dtype_info(t->dtype).to_float)
        fail("{}: tensor '{}' has dtype {}, which r1 cannot convert", dir_, n, safetensors::dtype_name(t->dtype));
      const std::string scale = safetensors::scale_inv_name(n);
      if (const safetensors::TensorInfo* si = st_->find(scale)) {
        if (t->dtype != safetensors::Dtype::F8_E4M3)
          fail("{}: '{}' has a block scale but is {}, not F8_E4M3", dir_, n, safetensors::dtype_name(t->dtype));
        const int64_t b = safetensors::kFp8BlockSize;
        const std::vector<int64_t> ws = {(t->shape[0] + b - 1) / b, t->shape.size() > 1 ? (t->shape[1] + b - 1) / b : 1};
        if (t->shape.size() != 2 || si->shape != ws)
          fail("{}: '{}' has shape {}, expected {} for the 128 x 128 blocks of '{}'", dir_, scale, shape_text(si->shape),
               shape_text(ws), n);
        used.insert(scale);
        plain = false;
      } else if (t->dtype == safetensors::Dtype::F8_E4M3 && hf_.fp8 && t->shape.size() == 2) {
        fail("{}: FP8 weight '{}' has no '{}'", dir_, n, scale);
      }
      if (!is_plain(t->dtype) || (common && *common != t->dtype)) plain = false;
      common = t->dtype;
      used.insert(n);
      p.parts.push_back(t);
    }
    if (p.src.how == HfTransform::permute_rope) {
      const int64_t rows = s.shape.size() == 2 ? s.shape[1] : s.shape[0];
      if (p.src.heads <= 0 || rows % p.src.heads != 0 || (rows / p.src.heads) % 2 != 0)
        fail("{}: {} has {} rows, not an even number per head for {} heads", dir_, s.name, rows, p.src.heads);
    }
    p.type = plain && common ? natural_type(*common) : DType::F32;
    const auto* data = p.parts.empty() ? nullptr : p.parts[0]->data;
    p.direct = p.src.how == HfTransform::copy && plain &&
               reinterpret_cast<uintptr_t>(data) % element_bytes(p.type) == 0;
  }
  std::vector<std::string> left;
  for (const safetensors::TensorInfo& t : st_->tensors())
    if (!used.count(t.name) && !hf_tensor_ignored(t.name, c)) left.push_back(t.name);
  if (!left.empty()) {
    const size_t n = std::min<size_t>(left.size(), 5);
    fail("{}: {} tensor(s) that a {} model of this config does not have, e.g. {} (an unsupported variant?)", dir_,
         left.size(), arch_name(c.arch), fmt::join(left.begin(), left.begin() + static_cast<ptrdiff_t>(n), ", "));
  }
}

size_t HfCheckpoint::source_bytes(size_t i) const {
  return static_cast<size_t>(specs_[i].numel()) * element_bytes(plan_[i].type);
}

const uint8_t* HfCheckpoint::part_bytes(const Plan& p, size_t part, std::vector<uint8_t>& tmp) const {
  const safetensors::TensorInfo& t = *p.parts[part];
  if (natural_type(t.dtype) == p.type && is_plain(t.dtype)) return t.data;  // read with memcpy only
  const std::vector<float> f = st_->read_float(t.name);
  tmp.resize(f.size() * sizeof(float));
  std::memcpy(tmp.data(), f.data(), tmp.size());
  return tmp.data();
}

const uint8_t* HfCheckpoint::bytes(size_t i, std::vector<uint8_t>& scratch, ThreadPool& pool) const {
  const Plan& p = plan_[i];
  const TensorSpec& s = specs_[i];
  if (p.direct) return p.parts[0]->data;
  const size_t es = element_bytes(p.type);
  scratch.resize(source_bytes(i));
  uint8_t* dst = scratch.data();
  std::vector<uint8_t> tmp;
  switch (p.src.how) {
    case HfTransform::computed: {
      const std::vector<float> f = llama3_rope_factors(cfg_.rope.n_dims, cfg_.rope.freq_base, hf_.llama3);
      if (static_cast<int64_t>(f.size()) != s.numel()) fail("internal: wrong number of Llama-3 rope factors");
      std::memcpy(dst, f.data(), f.size() * sizeof(float));
      break;
    }
    case HfTransform::copy: std::memcpy(dst, part_bytes(p, 0, tmp), scratch.size()); break;
    case HfTransform::permute_rope: {
      const uint8_t* src = part_bytes(p, 0, tmp);
      const int64_t rows = s.shape.size() == 2 ? s.shape[1] : s.shape[0];
      const size_t rb = s.shape.size() == 2 ? static_cast<size_t>(s.shape[0]) * es : es;
      const int64_t D = rows / p.src.heads;
      for (int64_t h = 0; h < p.src.heads; ++h)
        for (int64_t k = 0; k < D / 2; ++k)
          for (int64_t j = 0; j < 2; ++j)
            std::memcpy(dst + static_cast<size_t>(h * D + 2 * k + j) * rb,
                        src + static_cast<size_t>(h * D + j * (D / 2) + k) * rb, rb);
      break;
    }
    case HfTransform::stack: {
      const size_t each = scratch.size() / p.parts.size();
      for (size_t e = 0; e < p.parts.size(); ++e) std::memcpy(dst + e * each, part_bytes(p, e, tmp), each);
      break;
    }
    case HfTransform::kv_b_value: {
      const uint8_t* src = part_bytes(p, 0, tmp);
      const int64_t H = cfg_.n_head, NOPE = cfg_.mla.qk_nope, VH = cfg_.mla.v_head;
      const size_t rb = static_cast<size_t>(cfg_.mla.kv_lora_rank) * es;
      for (int64_t h = 0; h < H; ++h)
        std::memcpy(dst + static_cast<size_t>(h * VH) * rb, src + static_cast<size_t>(h * (NOPE + VH) + NOPE) * rb,
                    static_cast<size_t>(VH) * rb);
      break;
    }
    case HfTransform::kv_b_key_t: {
      const uint8_t* src = part_bytes(p, 0, tmp);
      std::vector<uint8_t> aligned;
      if (reinterpret_cast<uintptr_t>(src) % es != 0) {  // the kernels read whole elements
        aligned.assign(src, src + static_cast<size_t>(p.parts[0]->n_elements()) * es);
        src = aligned.data();
      }
      WeightView kv;
      kv.type = p.type;
      kv.rows = cfg_.n_head * (cfg_.mla.qk_nope + cfg_.mla.v_head);
      kv.cols = cfg_.mla.kv_lora_rank;
      kv.row_stride = static_cast<size_t>(kv.cols) * es;
      kv.data = src;
      kv.name = s.name.c_str();
      derive_legacy_k_b(kv, cfg_.n_head, cfg_.mla.qk_nope, p.type, dst, pool);
      break;
    }
  }
  return dst;
}

FileType hf_source_file_type(const HfCheckpoint& ckpt) {
  for (size_t i = 0; i < ckpt.tensors().size(); ++i)
    if (ckpt.tensors()[i].kind == TensorKind::token_embd) {
      const DType t = ckpt.source_type(i);
      if (ckpt.hf_config().fp8) return FileType::bf16;  // as llama.cpp's converter ("auto")
      return t == DType::BF16 ? FileType::bf16 : t == DType::F16 ? FileType::f16 : FileType::f32;
    }
  return FileType::f32;
}

namespace {

// Keeps the checkpoint (its mappings) and the materialised tensors alive for the File.
struct HfGgufOwner {
  std::shared_ptr<const HfCheckpoint> ckpt;
  std::vector<std::vector<uint8_t>> buffers;
  void* zeros = nullptr;  // materialize == false: stands in for every converted tensor
  size_t zeros_size = 0;
  ~HfGgufOwner() {
    if (zeros) ::munmap(zeros, zeros_size);
  }
};

}  // namespace

std::unique_ptr<gguf::File> hf_checkpoint_as_gguf(std::shared_ptr<const HfCheckpoint> ckpt, ThreadPool& pool,
                                                  bool materialize) {
  auto owner = std::make_shared<HfGgufOwner>();
  if (!materialize) {  // one zero-page mapping as large as the largest tensor: no memory is used
    size_t largest = 0;
    for (size_t i = 0; i < ckpt->tensors().size(); ++i) largest = std::max(largest, ckpt->source_bytes(i));
    void* p = ::mmap(nullptr, std::max<size_t>(largest, 1), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    if (p == MAP_FAILED) fail("{}: cannot reserve {} bytes of address space", ckpt->dir(), largest);
    owner->zeros = p;
    owner->zeros_size = std::max<size_t>(largest, 1);
  }
  owner->ckpt = ckpt;
  owner->buffers.reserve(ckpt->tensors().size());  // stable addresses
  std::vector<gguf::TensorInfo> infos;
  std::vector<uint8_t> none;
  for (size_t i = 0; i < ckpt->tensors().size(); ++i) {
    const TensorSpec& s = ckpt->tensors()[i];
    gguf::TensorInfo t;
    t.name = s.name;
    t.type = ckpt->source_type(i);
    t.shape = s.shape;
    t.nbytes = ckpt->source_bytes(i);
    if (ckpt->direct(i)) {
      t.data = ckpt->bytes(i, none, pool);
    } else if (!materialize) {
      t.data = static_cast<const uint8_t*>(owner->zeros);
    } else {
      owner->buffers.emplace_back();
      t.data = ckpt->bytes(i, owner->buffers.back(), pool);
    }
    infos.push_back(std::move(t));
  }
  gguf::Metadata md = ckpt->metadata();
  md.set("general.file_type", gguf::Value::from_u32(file_type_id(hf_source_file_type(*ckpt))));
  return gguf::File::assemble(ckpt->dir(), std::move(md), std::move(infos), owner);
}

}  // namespace r1
