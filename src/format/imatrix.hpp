// Importance-matrix files, as llama.cpp's llama-imatrix writes them and llama-quantize
// reads them (common/imatrix-loader.cpp and tools/quantize/quantize.cpp of llama.cpp
// release v0.4.0):
//
//   GGUF   one F32 tensor "<weight>.in_sum2" [n_per_row, n_mat] (sums of squared
//          activations per input column, per expert) and one F32 "<weight>.counts"
//          [1, n_mat] (tokens seen per expert) for each weight; metadata
//          imatrix.datasets (string array), imatrix.chunk_count, imatrix.chunk_size (u32),
//          general.type = "imatrix".
//   legacy .dat  int32 n_entries, then per entry: int32 name length, the name, int32
//          ncall, int32 n_values, n_values float32 (sums already divided per call and
//          multiplied by ncall); optionally int32 chunk count, int32 length + dataset name.
//
// Contract: load_imatrix validates everything (sizes against the file, matching sums /
// counts pairs, F32 types, finite values, shapes that divide evenly, no duplicate names)
// and throws r1::Error naming the file and the entry; it never reads outside the file.
// The importance of a column is what llama-quantize computes: in_sum2 / round(count)
// per expert (1 where an expert saw no token) for GGUF, sums / ncall for legacy files.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace r1 {

struct Imatrix {
  // weight name -> n_mat * n_per_row importances (expert e's columns at e * n_per_row)
  std::map<std::string, std::vector<float>> entries;
  std::vector<std::string> datasets;  // calibration files it was computed from
  int64_t chunk_count = 0;            // 0 when the file does not say
  bool legacy = false;                // read from the legacy .dat format
};

Imatrix load_imatrix(const std::string& path);

}  // namespace r1
