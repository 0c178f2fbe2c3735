// Trained models in and out of GGUF: the inference engine loads an exported model
// and predicts what the trainer's forward pass predicts; import gives back the
// exact floats; checkpoints resume a run bit-identically.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "model/model.hpp"
#include "train/checkpoint.hpp"
#include "train/model_io.hpp"
#include "train/transformer.hpp"

using namespace r1;
using namespace r1::train;
namespace fs = std::filesystem;

namespace {

fs::path tmp_dir() {
  fs::path d = fs::path(R1_BINARY_DIR) / "train_io_tmp";
  fs::create_directories(d);
  return d;
}

ModelMeta tiny_meta(Arch arch, bool tied) {
  ModelMeta m;
  m.vocab = builtin_byte_vocab();
  ModelConfig& c = m.cfg;
  c.arch = arch;
  c.name = "tiny-trained";
  c.n_vocab = static_cast<int64_t>(m.vocab.tokens.size()) + 3;  // a few padding rows
  c.n_embd = 64;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_head_kv = 2;
  c.head_dim = 16;
  c.rope.n_dims = 16;
  c.n_ff = 96;
  c.n_ctx_train = 64;
  c.rms_eps = 1e-6f;
  c.rope.freq_base = 10000.0f;
  c.rope.style = arch == Arch::llama ? RopeStyle::normal : RopeStyle::neox;
  c.tied_output = tied;
  return m;
}

// Larger-than-init weights so that predictions are peaked and differences show.
void randomize(std::vector<float>& p, const ParamLayout& layout, uint32_t seed) {
  init_params(layout, seed, p.data());
  for (const ParamSpec& s : layout.specs())
    if (s.init == Init::normal || s.init == Init::residual)
      for (int64_t i = 0; i < s.numel(); ++i) p[s.offset + i] *= 8.0f;
    else if (s.init == Init::zeros)
      for (int64_t i = 0; i < s.numel(); ++i) p[s.offset + i] = 0.05f * static_cast<float>(i % 7) - 0.15f;
}

// Log-softmax of the engine's logits at each next token of ids.
std::vector<double> engine_logprobs(const std::string& path, const std::vector<int32_t>& ids) {
  auto model = Model::load(path, {.n_threads = 2});
  auto kv = model->new_cache(64);
  std::vector<float> logits;
  std::vector<int32_t> in(ids.begin(), ids.end() - 1);
  model->forward(in, *kv, logits, /*all_logits=*/true);
  const int64_t V = model->config().n_vocab;
  std::vector<double> out;
  for (size_t t = 0; t + 1 < ids.size(); ++t) {
    const float* l = logits.data() + t * V;
    double mx = l[0], sum = 0;
    for (int64_t v = 1; v < V; ++v) mx = std::max(mx, static_cast<double>(l[v]));
    for (int64_t v = 0; v < V; ++v) sum += std::exp(l[v] - mx);
    out.push_back(l[ids[t + 1]] - mx - std::log(sum));
  }
  return out;
}

void check_export(Arch arch, bool tied, FileType type, double tol) {
  ThreadPool pool(2);
  ModelMeta meta = tiny_meta(arch, tied);
  Transformer m(meta.cfg, pool);
  randomize(m.params(), m.layout(), 11);
  const std::vector<int32_t> ids = {3, 70, 111, 42, 256, 9, 9, 300, 17, 5, 88, 12, 200, 31, 64, 1};
  Batch b;
  b.add_sequence(ids);
  const std::vector<float> lp = m.forward(b);
  const std::string path = (tmp_dir() / "export.gguf").string();
  export_gguf(path, meta, m.layout(), m.params().data(), type);
  const std::vector<double> ref = engine_logprobs(path, ids);
  ASSERT_EQ(ref.size(), lp.size());
  double max_err = 0, spread = 0;
  for (size_t t = 0; t < lp.size(); ++t) {
    max_err = std::max(max_err, std::fabs(lp[t] - ref[t]));
    spread = std::max(spread, std::fabs(ref[t]));
  }
  EXPECT_LT(max_err, tol) << arch_name(arch) << " max |logp difference| (logp up to " << spread << ")";
  EXPECT_GT(spread, 1.0);  // the predictions are not trivially uniform-equal
}

}  // namespace

TEST(TrainIO, ExportedF32MatchesEngineQwen2) { check_export(Arch::qwen2, false, FileType::f32, 2e-3); }
TEST(TrainIO, ExportedF32MatchesEngineQwen2Tied) { check_export(Arch::qwen2, true, FileType::f32, 2e-3); }
TEST(TrainIO, ExportedF32MatchesEngineLlama) { check_export(Arch::llama, false, FileType::f32, 2e-3); }
TEST(TrainIO, ExportedF32MatchesEngineQwen3) { check_export(Arch::qwen3, false, FileType::f32, 2e-3); }
TEST(TrainIO, ExportedF16AndQ8MatchEngineLoosely) {
  check_export(Arch::qwen2, false, FileType::f16, 2e-2);
  check_export(Arch::qwen2, false, FileType::q8_0, 1e-1);
}

TEST(TrainIO, ImportGivesBackTheExactModel) {
  ModelMeta meta = tiny_meta(Arch::qwen2, false);
  meta.vocab.chat_template = "{{ messages[0]['content'] }}";
  const ParamLayout layout(meta.cfg);
  std::vector<float> p(layout.size());
  randomize(p, layout, 5);
  const std::string path = (tmp_dir() / "roundtrip.gguf").string();
  export_gguf(path, meta, layout, p.data(), FileType::f32);
  const LoadedModel back = import_gguf(path);
  EXPECT_EQ(back.params, p);
  EXPECT_EQ(back.meta.cfg.n_vocab, meta.cfg.n_vocab);
  EXPECT_EQ(back.meta.cfg.n_embd, 64);
  EXPECT_EQ(back.meta.cfg.n_head_kv, 2);
  EXPECT_FALSE(back.meta.cfg.tied_output);
  EXPECT_EQ(back.meta.vocab.tokens, meta.vocab.tokens);  // padding rows dropped again
  EXPECT_EQ(back.meta.vocab.merges, meta.vocab.merges);
  EXPECT_EQ(back.meta.vocab.bos, meta.vocab.bos);
  EXPECT_EQ(back.meta.vocab.chat_template, meta.vocab.chat_template);
  EXPECT_THROW(import_gguf((tmp_dir() / "missing.gguf").string()), Error);
}

namespace {

// A deterministic toy training run: `steps` AdamW steps on fixed random sequences.
void run_steps(Transformer& m, AdamW& opt, int64_t from, int64_t to, ThreadPool& pool) {
  for (int64_t step = from; step < to; ++step) {
    std::mt19937 rng(static_cast<uint32_t>(1000 + step));
    Batch b;
    for (int s = 0; s < 3; ++s) {
      std::vector<int32_t> ids(12);
      for (auto& id : ids) id = static_cast<int32_t>(rng() % 300);
      b.add_sequence(ids);
    }
    m.zero_grad();
    const std::vector<float> lp = m.forward(b);
    std::vector<float> d(lp.size(), -1.0f / static_cast<float>(lp.size()));
    m.backward(d);
    opt.step(m.params().data(), m.grads().data(), pool);
  }
}

}  // namespace

TEST(TrainIO, CheckpointResumeIsBitIdentical) {
  const ModelMeta meta = tiny_meta(Arch::qwen2, false);
  const AdamWConfig oc{.lr = 3e-3f, .warmup_steps = 2, .total_steps = 6};
  std::vector<float> straight;
  {
    ThreadPool pool(2);
    Transformer m(meta.cfg, pool);
    init_params(m.layout(), 1, m.params().data());
    AdamW opt(oc, m.layout());
    run_steps(m, opt, 0, 6, pool);
    straight = m.params();
  }
  const std::string path = (tmp_dir() / "ckpt.gguf").string();
  {
    ThreadPool pool(2);
    Transformer m(meta.cfg, pool);
    init_params(m.layout(), 1, m.params().data());
    AdamW opt(oc, m.layout());
    run_steps(m, opt, 0, 3, pool);
    save_checkpoint(path, meta, m.layout(), m.params().data(), opt, {{"note", "half way"}});
  }
  {
    // Resume with a different thread count: still the same floats.
    ThreadPool pool(3);
    Checkpoint c = load_checkpoint(path);
    EXPECT_EQ(c.step, 3);
    EXPECT_EQ(c.run["note"], "half way");
    Transformer m(c.model.meta.cfg, pool);
    m.params() = c.model.params;
    AdamW opt(oc, m.layout());
    opt.m() = c.m;
    opt.v() = c.v;
    opt.set_steps_done(c.step);
    run_steps(m, opt, 3, 6, pool);
    EXPECT_EQ(m.params(), straight);
  }
  // No temporary files are left beside it.
  for (const auto& e : fs::directory_iterator(tmp_dir()))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  // A model file without optimizer state is not a checkpoint.
  const std::string plain = (tmp_dir() / "plain.gguf").string();
  const ParamLayout layout(meta.cfg);
  std::vector<float> p(layout.size(), 0.5f);
  export_gguf(plain, meta, layout, p.data(), FileType::f32);
  EXPECT_THROW(load_checkpoint(plain), Error);
}
