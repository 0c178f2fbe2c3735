// r1 quantize IN.gguf OUT.gguf TYPE: re-store a model file as another file type, with
// llama-quantize's per-tensor rules and bit-identical quantizers (model/quantize_file.hpp).
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "kernels/quantize_rows.hpp"
#include "model/quantize_file.hpp"

namespace r1::cli {
namespace {

struct QuantizeCliOptions {
  std::string input, output, type, imatrix, output_type, token_embd_type;
  std::vector<std::string> tensor_types;
  int threads = 0;
  bool pure = false, allow_requantize = false, leave_output = false, dry_run = false, quiet = false;
};

DType parse_writable_type(const std::string& flag, const std::string& name) {
  DType t;
  if (!parse_dtype(name, &t) || !quantize_supported(t))
    fail("{} '{}': not a type r1 quantize writes (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k .. q6_k, "
         "iq4_nl, iq4_xs, iq3_s, iq3_xxs, iq2_s, iq2_xs, iq2_xxs, iq1_m, iq1_s)",
         flag, name);
  return t;
}

std::string mib(uint64_t bytes) { return fmt::format("{:.2f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0)); }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (int64_t d : shape) s += (s.empty() ? "" : " x ") + std::to_string(d);
  return s;
}

int run_quantize(const QuantizeCliOptions& c) {
  QuantizeOptions o;
  o.input = c.input;
  o.output = c.output;
  if (!parse_file_type(c.type, &o.file_type))
    fail("unknown quantization type '{}' (one of: {})", c.type, file_type_names());
  o.imatrix = c.imatrix;
  o.threads = c.threads;
  o.pure = c.pure;
  o.allow_requantize = c.allow_requantize;
  o.leave_output = c.leave_output;
  o.dry_run = c.dry_run;
  for (const std::string& t : c.tensor_types) {
    TypeOverride ov = parse_type_override(t);
    for (char& ch : ov.pattern) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));  // as llama-quantize
    if (!quantize_supported(ov.type)) parse_writable_type("--tensor-type", t.substr(t.rfind('=') + 1));
    o.overrides.push_back(ov);
  }
  if (!c.output_type.empty()) o.output_type = parse_writable_type("--output-tensor-type", c.output_type);
  if (!c.token_embd_type.empty()) o.token_embd_type = parse_writable_type("--token-embedding-type", c.token_embd_type);

  const bool tty = isatty(STDERR_FILENO) != 0;
  if (!c.quiet)
    o.on_tensor = [tty](const QuantizedTensor& t) {
      const std::string line = fmt::format(
          "[{:4}/{:4}] {:<36} {:<16} {:>6} -> {:<6} {:>11} -> {:>11}{}", t.index + 1, t.count, t.name,
          "[" + shape_text(t.shape) + "]",
          dtype_name(t.from), dtype_name(t.to), mib(t.bytes_in), mib(t.bytes_out),
          t.converted ? (t.used_imatrix ? " (imatrix)" : "") : " (copied)");
      if (tty) std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), t.index + 1 == t.count ? "\n" : "");
      else std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
    };
  const QuantizeReport r = quantize_file(o);
  const double bpw_in = r.n_elements ? 8.0 * static_cast<double>(r.input_bytes) / static_cast<double>(r.n_elements) : 0;
  const double bpw_out =
      r.n_elements ? 8.0 * static_cast<double>(r.output_bytes) / static_cast<double>(r.n_elements) : 0;
  std::fprintf(stderr, "%s %s as %s: %zu tensors (%zu converted%s), %s (%.2f bpw) -> %s (%.2f bpw), %.2f s\n",
               c.dry_run ? "would write" : "wrote", c.dry_run ? c.input.c_str() : c.output.c_str(),
               file_type_name(o.file_type), r.n_tensors, r.n_converted,
               r.n_fallback ? fmt::format(", {} with a fallback type for their row length", r.n_fallback).c_str() : "",
               mib(r.input_bytes).c_str(), bpw_in, mib(r.output_bytes).c_str(), bpw_out, r.seconds);
  if (r.imatrix_entries) std::fprintf(stderr, "importance matrix: %zu entries from %s\n", r.imatrix_entries, c.imatrix.c_str());
  return 0;
}

const bool registered = register_command({
    .name = "quantize",
    .help = "quantize a GGUF model file as llama-quantize does (Q4_K_M, Q8_0, IQ4_XS, ...)",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<QuantizeCliOptions>();
      sub.add_option("input", o->input, "model file to read (GGUF)")->required();
      sub.add_option("output", o->output, "file to write (replaced atomically; unchanged on error)")->required();
      sub.add_option("type", o->type,
                     "file type, as llama-quantize names it (case-insensitive): q4_0 q4_1 q5_0 q5_1 q8_0 q2_k "
                     "q3_k_s q3_k_m q3_k_l q4_k_s q4_k_m q5_k_s q5_k_m q6_k iq4_nl iq4_xs iq3_s, and with --imatrix "
                     "iq3_xxs iq2_s iq2_xs iq2_xxs iq1_m iq1_s; f16 bf16 f32 "
                     "(aliases q3_k q4_k q5_k)")
          ->required();
      sub.add_option("--imatrix", o->imatrix, "importance matrix (llama.cpp's GGUF imatrix or legacy .dat)");
      sub.add_option("-t,--threads", o->threads, "threads (default: one per core); the output does not depend on it");
      sub.add_option("--tensor-type", o->tensor_types,
                     "PATTERN=TYPE: tensors whose name matches the regex get TYPE (repeatable; first match wins)");
      sub.add_option("--output-tensor-type", o->output_type, "type of the output matrix (output weight)");
      sub.add_option("--token-embedding-type", o->token_embd_type, "type of the token embedding");
      sub.add_flag("--pure", o->pure, "every quantizable weight gets the default type (no mix rules)");
      sub.add_flag("--allow-requantize", o->allow_requantize, "accept an already-quantized input (loses precision)");
      sub.add_flag("--leave-output-tensor", o->leave_output, "keep the output matrix as it is");
      sub.add_flag("--dry-run", o->dry_run, "print the plan and sizes, write nothing");
      sub.add_flag("-q,--quiet", o->quiet, "no per-tensor lines");
      return [o] { return run_quantize(*o); };
    }});

}  // namespace
}  // namespace r1::cli
