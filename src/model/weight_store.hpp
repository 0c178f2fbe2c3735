// Resident copy of a model's weight matrices: one anonymous memory region advised for
// transparent huge pages, filled with pread() straight from the file, then packed in
// place where the CPU's kernels use an interleaved layout (kernels/repack.hpp).
//
// Why not compute from the memory map: a 1 GB model is 250,000 small pages, each a page
// fault on first touch (and a copy-on-write fault when packed in place), and the decode
// stream then pays a TLB miss per 4 KiB; huge pages remove both. The map's pages of the
// copied tensors are never touched, so only one copy of the weights is ever resident.
// Set R1_MMAP_WEIGHTS=1 to compute from the memory map instead (no copy, no packing).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "kernels/matmul.hpp"

namespace r1 {

class ThreadPool;

class WeightStore {
 public:
  WeightStore() = default;
  ~WeightStore();
  WeightStore(const WeightStore&) = delete;
  WeightStore& operator=(const WeightStore&) = delete;

  // Copies views[i] (rows * row_stride bytes at absolute offset file_offsets[i] of the
  // file `path`) into the store, repoints views[i]->data there and packs it when the
  // active kernels have a packed layout for it. Throws r1::Error if the file cannot be
  // read; leaves the views untouched if the memory cannot be allocated or copying is
  // disabled (R1_MMAP_WEIGHTS=1).
  void load(const std::string& path, std::span<WeightView* const> views, std::span<const uint64_t> file_offsets,
            ThreadPool& pool);
  size_t bytes() const { return size_; }

 private:
  uint8_t* mem_ = nullptr;
  size_t size_ = 0;
};

}  // namespace r1
