// r1 imatrix -m MODEL -f calib.txt -o imatrix.gguf: the importance matrix llama-quantize
// and r1 quantize --imatrix read, computed as llama-imatrix does (engine/imatrix.hpp),
// written in llama.cpp's GGUF imatrix format (format/imatrix.hpp), atomically, every
// --output-frequency chunks and at the end. --in-file continues from or combines
// earlier GGUF imatrix files (their sums and counts add up).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "cli/terminal_flags.hpp"
#include "engine/imatrix.hpp"
#include "model/model.hpp"

namespace r1::cli {
namespace {

struct ImatrixCliOptions {
  std::string model, text_file, output = "imatrix.gguf";
  std::vector<std::string> in_files;
  ImatrixOptions run;
  int threads = 0;
  int64_t output_frequency = 10;
  bool no_ppl = false, parse_special = false, quiet = false;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read the calibration text '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (!s.empty() && s.back() == '\n') s.pop_back();  // as llama.cpp's -f does
  return s;
}

int run_imatrix(ImatrixCliOptions& c) {
  if (c.threads < 0) fail("-t/--threads must be >= 0, got {}", c.threads);
  if (c.output_frequency < 0) fail("--output-frequency must be >= 0, got {}", c.output_frequency);
  if (!c.model.empty() && c.text_file.empty())
    fail("-m given without -f: the calibration text is missing");
  if (c.text_file.empty() && c.in_files.empty())
    fail("nothing to do: give -m MODEL -f TEXT, or --in-file files to combine");
  ImatrixSums start;
  for (const std::string& f : c.in_files) merge_imatrix_sums(start, load_imatrix_sums(f), f);
  if (c.text_file.empty()) {
    write_imatrix(c.output, start);
    std::fprintf(stderr, "wrote %s: %zu entries combined from %zu files, %lld chunks\n", c.output.c_str(),
                 start.entries.size(), c.in_files.size(), static_cast<long long>(start.chunk_count));
    return 0;
  }
  if (c.model.empty()) fail("-f given without -m: the model is missing");
  const std::string text = read_text(c.text_file);
  auto model = Model::load(resolve_model_name(c.model), ModelOptions{.n_threads = c.threads});
  c.run.compute_ppl = !c.no_ppl;
  const bool tty = isatty(STDERR_FILENO) != 0;
  auto on_chunk = [&](const ImatrixProgress& p, const ImatrixCollector& col) {
    if (c.output_frequency > 0 && p.chunk % c.output_frequency == 0 && p.chunk < p.n_chunks)
      write_imatrix(c.output, col.sums(p.chunk));
    if (c.quiet) return;
    const double eta = p.seconds / static_cast<double>(p.chunk) * static_cast<double>(p.n_chunks - p.chunk);
    const std::string line =
        fmt::format("chunk {}/{}{} | {:.1f} s, {:.0f} tok/s, ETA {:.0f} s", p.chunk, p.n_chunks,
                    c.run.compute_ppl ? fmt::format(" | PPL {:.4f} +/- {:.4f}", p.ppl, p.ppl_err) : "", p.seconds,
                    static_cast<double>(p.chunk * c.run.n_ctx) / p.seconds, eta);
    if (tty) std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), p.chunk == p.n_chunks ? "\n" : "");
    else std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  };
  const ImatrixResult r =
      compute_imatrix(*model, text, c.parse_special, c.text_file, c.run, start, on_chunk);
  write_imatrix(c.output, r.sums);
  std::fprintf(stderr, "wrote %s: %zu entries, %lld chunks of %lld tokens%s\n", c.output.c_str(),
               r.sums.entries.size(), static_cast<long long>(r.sums.chunk_count),
               static_cast<long long>(r.sums.chunk_size),
               c.run.compute_ppl ? fmt::format(", final PPL {:.4f} +/- {:.4f}", r.last.ppl, r.last.ppl_err).c_str()
                                 : "");
  return 0;
}

const bool registered = register_command({
    .name = "imatrix",
    .help = "compute an importance matrix for quantization (llama.cpp's imatrix format)",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<ImatrixCliOptions>();
      sub.add_option("-m,--model", o->model, "model (GGUF file or Hugging Face directory)");
      sub.add_option("-f,--file", o->text_file, "calibration text (one trailing newline is dropped)");
      sub.add_option("-o,--output", o->output, "imatrix file to write (GGUF; replaced atomically)")
          ->capture_default_str();
      sub.add_option("--in-file", o->in_files, "earlier GGUF imatrix to continue from or combine (repeatable)");
      sub.add_option("-c,--ctx-size", o->run.n_ctx, "tokens per chunk")->capture_default_str();
      sub.add_option("--chunks", o->run.max_chunks, "at most this many chunks (-1: all)")->capture_default_str();
      sub.add_option("--chunk", o->run.skip_chunks, "skip this many chunks at the start")->capture_default_str();
      sub.add_option("--ubatch", o->run.ubatch, "rows per forward pass")->capture_default_str();
      sub.add_option("--output-frequency", o->output_frequency, "also save every N chunks (0: only at the end)")
          ->capture_default_str();
      sub.add_option("-t,--threads", o->threads, "threads (0 = physical cores)");
      sub.add_flag("--process-output", o->run.process_output, "also collect the output matrix (not the tied embedding)");
      sub.add_flag("--no-ppl", o->no_ppl, "do not compute the perplexity");
      sub.add_flag("--parse-special", o->parse_special, "special-token text in the file becomes special tokens");
      sub.add_flag("-q,--quiet", o->quiet, "no progress lines");
      return [o] { return run_imatrix(*o); };
    }});

}  // namespace
}  // namespace r1::cli
