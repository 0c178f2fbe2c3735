// r1 convert DIR -o FILE.gguf [--type T]: a Hugging Face checkpoint as a GGUF file
// (model/hf/hf_convert.hpp).
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <unistd.h>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "model/hf/hf_convert.hpp"

namespace r1::cli {
namespace {

struct ConvertCliOptions {
  std::string dir, out, type = "auto";
  std::vector<std::string> tensor_types;
  int threads = 0;
  bool quiet = false;
};

int run_convert(const ConvertCliOptions& o) {
  ConvertOptions opts;
  if (o.type != "auto") {
    FileType ft;
    if (!parse_file_type(o.type, &ft)) fail("unknown --type '{}' (auto, {})", o.type, file_type_names());
    opts.type = ft;
  }
  for (const std::string& t : o.tensor_types) opts.tensor_types.push_back(parse_type_override(t));
  opts.threads = o.threads;
  const bool tty = isatty(STDERR_FILENO) == 1;
  if (!o.quiet)
    opts.progress = [tty](size_t i, size_t n, const TensorSpec& s, DType t) {
      if (tty) std::fprintf(stderr, "\r\033[K[%zu/%zu] %s -> %s", i + 1, n, s.name.c_str(), dtype_name(t).data());
      else std::fprintf(stderr, "[%zu/%zu] %s -> %s\n", i + 1, n, s.name.c_str(), dtype_name(t).data());
    };
  const auto t0 = std::chrono::steady_clock::now();
  const auto ckpt = HfCheckpoint::open(o.dir);
  for (const std::string& w : ckpt->warnings()) std::fprintf(stderr, "r1 convert: warning: %s\n", w.c_str());
  const ConvertSummary s = convert_hf_checkpoint(*ckpt, o.out, opts);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (tty && !o.quiet) std::fprintf(stderr, "\n");
  std::fprintf(stderr, "r1 convert: %s (%s) -> %s: %zu tensors, %s, %.1f MB in %.1f s (%.0f MB/s read)\n",
               o.dir.c_str(), arch_name(ckpt->config().arch), o.out.c_str(), s.tensors, file_type_name(s.type),
               double(s.bytes_out) / 1e6, secs, double(s.bytes_in) / 1e6 / std::max(secs, 1e-9));
  return 0;
}

const bool registered = register_command({
    .name = "convert",
    .help = "convert a Hugging Face model directory (safetensors) to GGUF",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<ConvertCliOptions>();
      sub.add_option("dir", o->dir, "Hugging Face model directory (config.json, *.safetensors, tokenizer.json)")
          ->required();
      sub.add_option("-o,--out", o->out, "output .gguf path (written atomically)")->required();
      sub.add_option("--type", o->type,
                     "auto (the checkpoint's precision; BF16 for FP8) | f32 | f16 | bf16 | q8_0 | q4_0 | ... "
                     "(other quantizations: r1 quantize)")
          ->capture_default_str();
      sub.add_option("--tensor-type", o->tensor_types, "PATTERN=TYPE: tensors matching the regex get TYPE");
      sub.add_option("-t,--threads", o->threads, "threads (0 = physical cores)");
      sub.add_flag("-q,--quiet", o->quiet, "no per-tensor progress");
      return [o] { return run_convert(*o); };
    }});

}  // namespace
}  // namespace r1::cli
