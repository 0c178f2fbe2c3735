#include "train/fingerprint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <vector>

#include "base/error.hpp"
#include "base/rng.hpp"

namespace r1::train {

namespace {

// A streaming 64-bit hash of a byte sequence: four lanes over 8-byte words (fast
// enough for multi-GB model files), then the tail and the length mixed in. Not
// cryptographic: it tells a changed file from an unchanged one, not an attacker.
class ContentHash {
 public:
  void update(const uint8_t* p, size_t n) {
    total_ += n;
    while (n > 0) {
      const size_t take = std::min(n, sizeof buf_ - fill_);
      std::memcpy(buf_ + fill_, p, take);
      fill_ += take, p += take, n -= take;
      if (fill_ == sizeof buf_) {
        block(buf_);
        fill_ = 0;
      }
    }
  }
  uint64_t finish() {
    uint64_t h = total_ * kMul1;
    for (uint64_t lane : lanes_) h = mix(h ^ lane);
    for (size_t i = 0; i < fill_; ++i) h = (h ^ buf_[i]) * 1099511628211ull;
    return mix(h);
  }

 private:
  static constexpr uint64_t kMul1 = 0x9E3779B97F4A7C15ull, kMul2 = 0xC2B2AE3D27D4EB4Full;
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  void block(const uint8_t* p) {
    for (int i = 0; i < 4; ++i) {
      uint64_t w;
      std::memcpy(&w, p + 8 * i, 8);
      uint64_t& h = lanes_[i];
      h = (h ^ (w * kMul2)) * kMul1;
      h = (h << 31) | (h >> 33);
    }
  }
  uint64_t lanes_[4] = {1, 2, 3, 4};
  uint8_t buf_[32];
  size_t fill_ = 0;
  uint64_t total_ = 0;
};

}  // namespace

std::string file_identity(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot read '{}' to fingerprint it: {}", path, std::strerror(errno));
  ContentHash h;
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string err = std::strerror(errno);
      ::close(fd);
      fail("cannot read '{}' to fingerprint it: {}", path, err);
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
  }
  const off_t size = ::lseek(fd, 0, SEEK_END);
  ::close(fd);
  return fmt::format("{} bytes, hash {:016x}", static_cast<int64_t>(size), h.finish());
}

std::string optimizer_identity(const AdamWConfig& c) {
  return fmt::format("lr {} min-lr-ratio {} warmup {} beta1 {} beta2 {} eps {} weight-decay {} grad-clip {}", c.lr,
                     c.min_lr_ratio, c.warmup_steps, c.beta1, c.beta2, c.eps, c.weight_decay, c.grad_clip);
}

std::string model_identity(const ModelInit& init) {
  if (!init.init_path.empty()) return "file " + file_identity(init.init_path);
  const ModelConfig& c = init.cfg;
  return fmt::format(
      "new {} embd={} layers={} heads={} kv-heads={} head-dim={} ff={} ctx={} vocab={} tied={} rope-theta={} "
      "rms-eps={}, tokenizer {}, chat template hash {:016x}, init seed {}",
      arch_name(c.arch), c.n_embd, c.n_layer, c.n_head, c.n_head_kv, c.head_dim, c.n_ff, c.n_ctx_train, c.n_vocab,
      c.tied_output ? 1 : 0, c.rope.freq_base, c.rms_eps,
      init.tokenizer_path.empty() ? std::string("built-in bytes") : file_identity(init.tokenizer_path),
      name_hash(init.chat_template, 0), init.seed);
}

nlohmann::json fingerprint_json(const Fingerprint& f) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : f) j[k] = v;
  return j;
}

void check_resume_fingerprint(const nlohmann::json& run, const Fingerprint& now, const std::string& ckpt_path,
                              bool force, const LogFn& log) {
  const auto it = run.find("fingerprint");
  if (it == run.end() || !it->is_object()) {
    log(fmt::format("warning: {} has no fingerprint (an older checkpoint): the data, seed and model it was made "
                    "with are not checked",
                    ckpt_path));
    return;
  }
  std::vector<std::string> diffs;
  for (const auto& [name, value] : now) {
    const auto stored = it->find(name);
    if (stored == it->end()) continue;
    const std::string was = stored->is_string() ? stored->get<std::string>() : stored->dump();
    if (was != value) diffs.push_back(fmt::format("{} differs (checkpoint: {}; now: {})", name, was, value));
  }
  if (diffs.empty()) return;
  if (force) {
    for (const std::string& d : diffs) log(fmt::format("warning: --resume-force: {}", d));
    return;
  }
  fail("{}: cannot resume: this run's inputs are not the ones the checkpoint was made with: {} "
       "(use the original inputs, a new --out / --checkpoint, or --resume-force to resume anyway)",
       ckpt_path, fmt::join(diffs, "; "));
}

}  // namespace r1::train
