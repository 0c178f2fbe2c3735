// Resident copy of a model's weight matrices: one anonymous memory region advised for
// transparent huge pages, filled with pread() straight from the file (the planner then
// packs them in place where the CPU's kernels use an interleaved layout).
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
#include <utility>
#include <vector>


namespace r1 {

class ThreadPool;

class WeightStore {
 public:
  WeightStore() = default;
  ~WeightStore();
  WeightStore(const WeightStore&) = delete;
  WeightStore& operator=(const WeightStore&) = delete;

  // `pieces` runs of `bytes` bytes, `file_stride` apart in the file (a strided view such as
  // the V rows of a legacy MLA attn_kv_b), stored one after the other.
  struct Region {
    uint64_t file_offset;  // absolute offset in the file
    size_t bytes;
    size_t pieces = 1;
    uint64_t file_stride = 0;
  };
  // Copies every region of the file `path` into the store and returns where each one now
  // is (64-byte aligned, writable, pieces * bytes long). Returns an empty vector, and
  // copies nothing, when the memory cannot be allocated or copying is disabled
  // (R1_MMAP_WEIGHTS=1). Throws r1::Error if the file cannot be read.
  std::vector<uint8_t*> load(const std::string& path, std::span<const Region> regions, ThreadPool& pool);
  // Memory for weights computed at load (not in the file), in either mode: 64-byte
  // aligned, writable, advised for huge pages, zero-filled, kept as long as the store.
  // Throws r1::Error if it cannot be allocated.
  uint8_t* allocate(size_t bytes);
  size_t bytes() const { return size_; }             // of the copied regions
  size_t derived_bytes() const { return derived_; }  // of allocate()

 private:
  uint8_t* mem_ = nullptr;
  size_t size_ = 0;
  std::vector<std::pair<void*, size_t>> extra_;  // allocate()'s mappings
  size_t derived_ = 0;
};

}  // namespace r1
