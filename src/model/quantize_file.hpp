// `r1 quantize`: a GGUF model file re-stored with another file type, as llama.cpp's
// llama-quantize does it (release v0.4.0): the same tensor types (quant_mix.hpp), the
// same bytes for every tensor (kernels/quantize_rows.hpp), the same tensor order, the
// metadata copied with general.file_type, general.quantization_version = 2 and, with an
// importance matrix, the quantize.imatrix.* keys.
//
// Contract: quantize_file validates everything it can before writing a byte (types it
// can read and write, requantization allowed, importance matrix present where the type
// needs one and of the right size, output not the input) and throws r1::Error naming the
// problem. The output is written through gguf::Writer: a temporary file renamed over
// `output` only when complete, so an error never leaves a partial or changed output.
// Memory: the output of the largest tensor plus per-thread row scratch; the input is
// memory-mapped. Rows are quantized in parallel; the bytes do not depend on `threads`.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kernels/types.hpp"
#include "model/registry/registry.hpp"

namespace r1 {

// One tensor as it is written (for progress lines and the summary).
struct QuantizedTensor {
  size_t index = 0;   // 0-based position in the output
  size_t count = 0;   // tensors in the file
  std::string name;
  std::vector<int64_t> shape;
  DType from = DType::F32, to = DType::F32;
  uint64_t bytes_in = 0, bytes_out = 0;
  bool converted = false;  // false: copied unchanged
  bool used_imatrix = false;
};

struct QuantizeOptions {
  std::string input;
  std::string output;
  FileType file_type = FileType::q8_0;
  std::string imatrix;                  // path or empty
  int threads = 0;                      // <= 0: one per core
  std::vector<TypeOverride> overrides;  // --tensor-type
  bool pure = false;
  bool allow_requantize = false;
  bool leave_output = false;            // --leave-output-tensor
  std::optional<DType> output_type;     // --output-tensor-type
  std::optional<DType> token_embd_type; // --token-embedding-type
  bool dry_run = false;                 // plan and report sizes, write nothing
  std::function<void(const QuantizedTensor&)> on_tensor;  // called after each tensor
};

struct QuantizeReport {
  uint64_t input_bytes = 0;   // tensor data in
  uint64_t output_bytes = 0;  // tensor data out
  uint64_t n_elements = 0;
  size_t n_tensors = 0, n_converted = 0, n_fallback = 0;
  size_t imatrix_entries = 0;
  double seconds = 0;
  std::vector<QuantizedTensor> tensors;  // in output order
};

QuantizeReport quantize_file(const QuantizeOptions& options);

}  // namespace r1
