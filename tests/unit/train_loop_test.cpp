// The training loops end to end on tiny models: SFT learns (loss falls), resumes
// bit-identically from a checkpoint; the GRPO objective's gradient against finite
// differences and by hand; a GRPO run goes through sampling, rewards and updates.
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "base/error.hpp"
#include "train/grpo.hpp"
#include "train/model_io.hpp"
#include "train/sft.hpp"
#include "train/task.hpp"

using namespace r1;
using namespace r1::train;
namespace fs = std::filesystem;

namespace {

fs::path dir() {
  fs::path d = fs::path(R1_BINARY_DIR) / "train_loop_tmp";
  fs::create_directories(d);
  return d;
}

std::string write_tasks(const std::string& name, const std::string& split, int64_t n) {
  TaskOptions o;
  o.kinds = {"add"};
  o.split = split;
  o.n = n;
  const std::string path = (dir() / name).string();
  std::ofstream f(path);
  for (const auto& p : generate_tasks(o)) f << task_to_json(p, split == "id").dump() << "\n";
  return path;
}

SftOptions tiny_sft(const std::string& data, const std::string& out) {
  SftOptions o;
  o.data = data;
  o.out = out;
  o.init.cfg.arch = Arch::qwen2;
  o.init.cfg.n_embd = 32;
  o.init.cfg.n_layer = 1;
  o.init.cfg.n_head = 2;
  o.init.cfg.n_head_kv = 1;
  o.init.cfg.n_ff = 64;
  o.init.cfg.n_ctx_train = 256;
  o.init.cfg.rms_eps = 1e-6f;
  o.init.cfg.rope.freq_base = 10000.0f;
  o.steps = 6;
  o.batch_tokens = 600;
  o.micro_tokens = 400;
  o.opt.lr = 3e-3f;
  o.opt.warmup_steps = 2;
  o.threads = 2;
  o.log_every = 1;
  o.eval_every = 3;
  o.save_every = 3;
  return o;
}

const LogFn quiet = [](const std::string&) {};

// Names of the files created in (or renamed into) `d` while fn runs (inotify).
std::vector<std::string> files_created(const fs::path& d, const std::function<void()>& fn) {
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  EXPECT_GE(fd, 0);
  EXPECT_GE(inotify_add_watch(fd, d.c_str(), IN_CREATE | IN_MOVED_TO), 0);
  fn();
  std::vector<std::string> names;
  alignas(inotify_event) char buf[1 << 16];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    for (char* p = buf; p < buf + n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(p);
      if (ev->len > 0) names.emplace_back(ev->name);
      p += sizeof(inotify_event) + ev->len;
    }
  ::close(fd);
  return names;
}

}  // namespace

TEST(TrainLoop, SftLearnsAndResumesBitIdentically) {
  const std::string data = write_tasks("sft.jsonl", "train", 60);
  // Straight through.
  SftOptions a = tiny_sft(data, (dir() / "a.gguf").string());
  fs::remove(dir() / "a.ckpt.gguf");
  const SftResult ra = run_sft(a, quiet);
  EXPECT_EQ(ra.steps, 6);
  // Three steps, stop, resume for the rest.
  SftOptions b = tiny_sft(data, (dir() / "b.gguf").string());
  fs::remove(dir() / "b.ckpt.gguf");
  b.max_seconds = 1e-9;  // stops after the first step ...
  b.save_every = 1;
  run_sft(b, quiet);
  b.max_seconds = 0;
  b.resume = true;
  const SftResult rb = run_sft(b, quiet);
  EXPECT_EQ(rb.steps, 6);
  EXPECT_EQ(import_gguf(a.out).params, import_gguf(b.out).params);
  // The curves exist and the loss fell from its start (ln V ~ 6.5 at random init).
  std::ifstream csv(dir() / "a.csv");
  std::string header, first, line, last;
  std::getline(csv, header);
  std::getline(csv, first);
  while (std::getline(csv, line)) last = line;
  EXPECT_EQ(header.rfind("step,epoch,lr,loss,val_loss", 0), 0u);
  auto loss_of = [](const std::string& row) {
    size_t p = 0;
    for (int i = 0; i < 3; ++i) p = row.find(',', p) + 1;
    return std::stod(row.substr(p));
  };
  EXPECT_LT(loss_of(last), loss_of(first));
  EXPECT_TRUE(fs::exists(dir() / "a.svg"));
}

TEST(TrainLoop, SftAndGrpoTrainAQwen3Model) {
  // qwen3 (per-head q/k RMSNorm, key_length written): SFT learns, GRPO runs on its output.
  const std::string data = write_tasks("q3_sft.jsonl", "train", 40);
  SftOptions s = tiny_sft(data, (dir() / "q3_sft.gguf").string());
  s.init.cfg.arch = Arch::qwen3;
  s.init.cfg.head_dim = 8;  // 2 heads of 8 over a 32-wide model: n_head * head_dim != n_embd
  fs::remove(dir() / "q3_sft.ckpt.gguf");
  const SftResult r = run_sft(s, quiet);
  EXPECT_EQ(r.steps, 6);
  EXPECT_TRUE(std::isfinite(r.last_loss));
  const LoadedModel m = import_gguf(s.out);
  EXPECT_EQ(m.meta.cfg.arch, Arch::qwen3);
  EXPECT_EQ(m.meta.cfg.head_dim, 8);
  GrpoOptions g;
  g.init = s.out;
  g.prompts = write_tasks("q3_prompts.jsonl", "id", 4);
  g.out = (dir() / "q3_grpo.gguf").string();
  fs::remove(dir() / "q3_grpo.ckpt.gguf");
  g.group = 2;
  g.prompts_per_step = 2;
  g.steps = 1;
  g.max_tokens = 16;
  g.threads = 2;
  g.sampling.temperature = 1.0f;
  EXPECT_EQ(run_grpo(g, quiet).steps, 1);
  EXPECT_EQ(import_gguf(g.out).meta.cfg.arch, Arch::qwen3);
}

TEST(TrainLoop, SftErrors) {
  SftOptions o = tiny_sft((dir() / "missing.jsonl").string(), (dir() / "x.gguf").string());
  EXPECT_THROW(run_sft(o, quiet), Error);
  const std::string bad = (dir() / "bad.jsonl").string();
  std::ofstream(bad) << "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n";
  o.data = bad;
  EXPECT_THROW(run_sft(o, quiet), Error);  // no assistant message to learn
}

TEST(TrainLoop, GrpoGradientMatchesFiniteDifferences) {
  // Per-token objective J(logp) = -(min(r A, clip(r) A) - beta * KL(logp)), r = exp(logp - old).
  auto J = [](double lp, double old, double ref, double a, double eps, double beta) {
    const double r = std::exp(lp - old);
    const double clipped = std::min(std::max(r, 1 - eps), 1 + eps);
    return -(std::min(r * a, clipped * a) - beta * kl_k3(lp, ref));
  };
  for (double a : {-1.5, -0.3, 0.0, 0.7, 2.0})
    for (double lp : {-3.0, -1.0, -0.2})
      for (double shift : {-0.5, -0.1, 0.0, 0.1, 0.5})
        for (double ref_shift : {-0.3, 0.0, 0.4}) {
          const double old = lp - shift, ref = lp + ref_shift, eps = 0.2, beta = 0.05;
          const double r = std::exp(shift);
          if (std::fabs(r - 1.2) < 1e-3 || std::fabs(r - 0.8) < 1e-3) continue;  // kinks
          const double h = 1e-6;
          const double fd = (J(lp + h, old, ref, a, eps, beta) - J(lp - h, old, ref, a, eps, beta)) / (2 * h);
          EXPECT_NEAR(grpo_dlogp(lp, old, ref, a, eps, beta), fd, 1e-6)
              << "A " << a << " logp " << lp << " shift " << shift << " ref " << ref_shift;
        }
  // By hand: at ratio 1 and logp = ref the gradient is -A; clipped regions give only the KL part.
  EXPECT_DOUBLE_EQ(grpo_dlogp(-1, -1, -1, 2.0, 0.2, 0.1), -2.0);
  EXPECT_DOUBLE_EQ(grpo_dlogp(std::log(1.5), 0, std::log(1.5), 1.0, 0.2, 0.1), 0.0);   // A > 0, r > 1 + eps
  EXPECT_DOUBLE_EQ(grpo_dlogp(std::log(0.5), 0, std::log(0.5), -1.0, 0.2, 0.1), 0.0);  // A < 0, r < 1 - eps
  EXPECT_NEAR(grpo_dlogp(std::log(0.5), 0, std::log(0.5), 1.0, 0.2, 0.1), -0.5, 1e-12); // A > 0, r < 1 - eps: active
  EXPECT_DOUBLE_EQ(kl_k3(-2, -2), 0.0);
  EXPECT_NEAR(kl_k3(-2, -1), std::exp(1.0) - 2.0, 1e-12);
}

TEST(TrainLoop, GrpoRunsEndToEnd) {
  // A briefly SFT-trained tiny model, two GRPO steps: sampling, rewards, update, outputs.
  const std::string data = write_tasks("grpo_sft.jsonl", "train", 40);
  SftOptions s = tiny_sft(data, (dir() / "grpo_init.gguf").string());
  fs::remove(dir() / "grpo_init.ckpt.gguf");
  s.steps = 2;
  run_sft(s, quiet);
  GrpoOptions g;
  g.init = s.out;
  g.prompts = write_tasks("grpo_prompts.jsonl", "id", 6);
  g.out = (dir() / "grpo.gguf").string();
  fs::remove(dir() / "grpo.ckpt.gguf");
  g.group = 3;
  g.prompts_per_step = 2;
  g.steps = 2;
  g.max_tokens = 24;
  g.threads = 2;
  g.sampling.temperature = 1.0f;
  g.sampling.top_p = 1.0f;
  g.rewards = {"boxed-match", "think-format:0.5"};
  const GrpoResult r = run_grpo(g, quiet);
  EXPECT_EQ(r.steps, 2);
  EXPECT_TRUE(fs::exists(dir() / "grpo.csv"));
  EXPECT_TRUE(fs::exists(dir() / "grpo.svg"));
  EXPECT_FALSE(fs::exists(dir() / "grpo.policy.tmp.gguf"));
  EXPECT_EQ(import_gguf(g.out).params.size(), import_gguf(g.init).params.size());

  // GRPO samples from the live policy: no model file is written per step. The files a
  // run creates (checkpoint and output with their temporaries, curves) are the same for
  // one step as for three.
  auto created_by = [&](int64_t steps) {
    g.steps = steps;
    g.save_every = 0;
    fs::remove(dir() / "grpo.ckpt.gguf");
    std::vector<std::string> gguf;
    for (const std::string& n : files_created(dir(), [&] { run_grpo(g, quiet); }))
      if (n.find(".gguf") != std::string::npos && (n.rfind("grpo.", 0) == 0 || n.rfind(".grpo.", 0) == 0))
        gguf.push_back(n);  // this run's files (other tests write to the same directory)
    return gguf;
  };
  const std::vector<std::string> one = created_by(1), three = created_by(3);
  EXPECT_EQ(one.size(), three.size()) << "model files created per step";
  EXPECT_FALSE(three.empty());  // the checkpoint and the output are seen
  for (const std::string& n : three) EXPECT_EQ(n.find("policy"), std::string::npos) << n;
  g.rewards = {"length"};
  EXPECT_THROW(run_grpo(g, quiet), Error);
}

// A resume must continue the run the checkpoint was made with: a changed data file,
// seed, model or schedule is refused with a message naming it; --resume-force turns
// that into a warning; the original inputs still resume bit-identically.
TEST(TrainLoop, SftResumeRefusesChangedInputs) {
  const std::string data = write_tasks("fp_sft.jsonl", "train", 60);
  SftOptions straight = tiny_sft(data, (dir() / "fp_straight.gguf").string());
  fs::remove(dir() / "fp_straight.ckpt.gguf");
  run_sft(straight, quiet);

  SftOptions o = tiny_sft(data, (dir() / "fp.gguf").string());
  fs::remove(dir() / "fp.ckpt.gguf");
  o.max_seconds = 1e-9;  // stops after the first step, with a checkpoint
  o.save_every = 1;
  run_sft(o, quiet);
  o.max_seconds = 0;
  o.resume = true;
  auto expect_refused = [&](SftOptions x, const std::string& what) {
    try {
      run_sft(x, quiet);
      ADD_FAILURE() << "a resume with a different " << what << " was accepted";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(what + " differs"), std::string::npos) << msg;
      EXPECT_NE(msg.find("--resume-force"), std::string::npos) << msg;
      EXPECT_NE(msg.find("fp.ckpt.gguf"), std::string::npos) << msg;
    }
  };
  SftOptions x = o;
  x.seed = 2;
  expect_refused(x, "seed (--seed)");
  x = o;
  x.steps = 7;
  expect_refused(x, "steps (--steps)");
  x = o;
  x.opt.lr = 1e-3f;
  expect_refused(x, "optimizer");
  x = o;
  x.init.cfg.n_ff = 128;
  expect_refused(x, "model (--init / --dims)");
  // The data file changed in place (one more example).
  write_tasks("fp_sft.jsonl", "train", 61);
  expect_refused(o, "data (--data)");
  write_tasks("fp_sft.jsonl", "train", 60);  // the original content again

  // A resume that does not name the model takes the checkpoint's (not compared).
  x = o;
  x.init.cfg.n_ff = 128;
  x.model_given = false;
  std::string log;
  const LogFn keep = [&](const std::string& line) { log += line + "\n"; };
  EXPECT_EQ(run_sft(x, keep).steps, 6);
  EXPECT_EQ(log.find("warning"), std::string::npos) << log;
  EXPECT_EQ(import_gguf(o.out).params, import_gguf(straight.out).params) << "the refusals changed the checkpoint";

  // --resume-force resumes anyway and says what differs.
  x = o;
  x.steps = 8;
  x.resume_force = true;
  log.clear();
  EXPECT_EQ(run_sft(x, keep).steps, 8);
  EXPECT_NE(log.find("warning: --resume-force: steps (--steps) differs (checkpoint: 6; now: 8)"), std::string::npos)
      << log;
}

TEST(TrainLoop, GrpoResumeRefusesAChangedModelOrPrompts) {
  const std::string data = write_tasks("fp_grpo_sft.jsonl", "train", 40);
  SftOptions s = tiny_sft(data, (dir() / "fp_grpo_init.gguf").string());
  fs::remove(dir() / "fp_grpo_init.ckpt.gguf");
  s.steps = 2;
  run_sft(s, quiet);
  GrpoOptions g;
  g.init = s.out;
  g.prompts = write_tasks("fp_grpo_prompts.jsonl", "id", 6);
  g.out = (dir() / "fp_grpo.gguf").string();
  fs::remove(dir() / "fp_grpo.ckpt.gguf");
  g.group = 2;
  g.prompts_per_step = 2;
  g.steps = 2;
  g.max_tokens = 8;
  g.threads = 2;
  g.save_every = 1;
  g.max_seconds = 1e-9;  // one step, then a checkpoint
  run_grpo(g, quiet);
  g.max_seconds = 0;
  g.resume = true;
  auto refused_for = [&](const GrpoOptions& x) -> std::string {
    try {
      run_grpo(x, quiet);
    } catch (const Error& e) {
      return e.what();
    }
    return "accepted";
  };
  // The same file name, other weights (another initialisation seed).
  const std::string saved = (dir() / "fp_grpo_init.saved.gguf").string();
  fs::copy_file(s.out, saved, fs::copy_options::overwrite_existing);
  SftOptions other = s;
  other.out = (dir() / "fp_grpo_other.gguf").string();
  fs::remove(dir() / "fp_grpo_other.ckpt.gguf");
  other.init.seed = 5;
  run_sft(other, quiet);
  fs::copy_file(other.out, s.out, fs::copy_options::overwrite_existing);
  EXPECT_NE(refused_for(g).find("model (--init) differs"), std::string::npos) << refused_for(g);
  fs::copy_file(saved, s.out, fs::copy_options::overwrite_existing);
  GrpoOptions x = g;
  x.prompts = write_tasks("fp_grpo_prompts2.jsonl", "id", 7);
  EXPECT_NE(refused_for(x).find("prompts (--prompts) differs"), std::string::npos) << refused_for(x);
  x = g;
  x.sampling.temperature = 0.5f;
  EXPECT_NE(refused_for(x).find("sampling differs"), std::string::npos) << refused_for(x);
  EXPECT_EQ(run_grpo(g, quiet).steps, 2);  // the original inputs resume
}
