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

// The raw form of a GGUF imatrix, what llama-imatrix accumulates and writes: per weight,
// the sums of squared inputs (n_mat * n_per_row, matrix m's columns at m * n_per_row) and
// the tokens counted per matrix (1 count shared by all matrices, or one per expert).
struct ImatrixSums {
  struct Entry {
    std::vector<float> sums;
    std::vector<float> counts;
  };
  std::map<std::string, Entry> entries;
  std::vector<std::string> datasets;
  int64_t chunk_count = 0;
  int64_t chunk_size = 0;
};

// Reads a GGUF imatrix with load_imatrix's validation (to continue or combine runs, as
// llama-imatrix --in-file does); legacy .dat files are refused (their sums are averaged).
ImatrixSums load_imatrix_sums(const std::string& path);

// Adds `more` (read from `more_path`, for messages) to `into`, as llama-imatrix --in-file
// does: sums and counts add per entry, new entries are taken over, datasets and chunk
// counts append. Throws r1::Error naming the entry when the two disagree on its shape.
void merge_imatrix_sums(ImatrixSums& into, const ImatrixSums& more, const std::string& more_path);

// Writes `im` as llama-imatrix does (general.type = "imatrix", imatrix.datasets,
// imatrix.chunk_count, imatrix.chunk_size as u32; per entry in name order an F32
// "<weight>.in_sum2" [sums / counts, counts] and an F32 "<weight>.counts" [1, counts]),
// atomically (temporary file, fsync, rename). Throws r1::Error for an entry whose sums do
// not split over its counts.
void write_imatrix(const std::string& path, const ImatrixSums& im);

}  // namespace r1
