// r1 logits (testing): teacher-forced logits for the oracle tests. Reads a JSON
// array of token ids, runs them through the model with all_logits, and writes raw
// little-endian float32 [n_positions][n_vocab] to --out, atomically (temp file in
// the same directory, then rename), so a failed run never leaves a partial file.
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/atomic_file.hpp"
#include "base/error.hpp"
#include "cli/command.hpp"
#include "cli/terminal_flags.hpp"
#include "model/model.hpp"

namespace r1::cli {
namespace {

static_assert(std::endian::native == std::endian::little, "logits are written as little-endian float32");

struct LogitsOptions {
  std::string model, ids_path, out;
  int threads = 0;
  int batch = 512;
};

std::vector<int32_t> read_ids(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read --ids file '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail("--ids file '{}' is not valid JSON", path);
  if (!j.is_array()) fail("--ids file '{}' must hold a JSON array of token ids", path);
  std::vector<int32_t> ids;
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& v = j[i];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
      fail("--ids file '{}': element {} is not a token id", path, i);
    ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
  }
  if (ids.empty()) fail("--ids file '{}' holds no ids", path);
  return ids;
}

int run_logits(const LogitsOptions& o) {
  if (o.threads < 0) fail("-t/--threads must be >= 0, got {}", o.threads);
  if (o.batch < 1) fail("--batch must be >= 1, got {}", o.batch);
  const std::vector<int32_t> ids = read_ids(o.ids_path);
  auto model = Model::load(resolve_model_name(o.model), ModelOptions{.n_threads = o.threads});
  const int64_t n_vocab = model->config().n_vocab;
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] >= n_vocab) fail("--ids element {} = {} is out of range (the model has {} tokens)", i, ids[i], n_vocab);

  const int64_t n = static_cast<int64_t>(ids.size());
  auto kv = model->new_cache(n);
  std::vector<float> all;
  all.reserve(static_cast<size_t>(n * n_vocab));
  std::vector<float> logits;
  for (int64_t pos = 0; pos < n; pos += o.batch) {
    const int64_t len = std::min<int64_t>(o.batch, n - pos);
    model->forward(std::span<const int32_t>(ids.data() + pos, static_cast<size_t>(len)), *kv, logits, true);
    all.insert(all.end(), logits.begin(), logits.end());
  }
  if (static_cast<int64_t>(all.size()) != n * n_vocab)
    fail("internal: got {} logits, expected {} x {}", all.size(), n, n_vocab);
  write_file_atomic(o.out, std::string_view(reinterpret_cast<const char*>(all.data()), all.size() * sizeof(float)));
  return 0;
}

const bool registered = register_command({
    .name = "logits",
    .help = "(testing) teacher-forced logits of a token sequence as raw float32",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<LogitsOptions>();
      sub.add_option("-m,--model", o->model, "model file (GGUF)")->required();
      sub.add_option("--ids", o->ids_path, "JSON file with an array of token ids")->required();
      sub.add_option("--out", o->out, "output file: little-endian float32 [n_ids][n_vocab]")->required();
      sub.add_option("-t,--threads", o->threads, "threads (0 = physical cores)");
      sub.add_option("--batch", o->batch, "tokens per forward call")->capture_default_str();
      return [o] { return run_logits(*o); };
    }});

}  // namespace
}  // namespace r1::cli
