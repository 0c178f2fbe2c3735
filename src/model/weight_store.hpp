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
#include <vector>


namespace r1 {

class ThreadPool;

class WeightStore {
 public:
  WeightStore() = default;
  ~WeightStore();
  WeightStore(const WeightStore&) = delete;
  WeightStore& operator=(const WeightStore&) = delete;

  struct Region {
    uint64_t file_offset;  // absolute offset in the file
    size_t bytes;
  };
  // Copies every region of the file `path` into the store and returns where each one now
  // is (64-byte aligned, writable). Returns an empty vector, and copies nothing, when the
  // memory cannot be allocated or copying is disabled (R1_MMAP_WEIGHTS=1). Throws
  // r1::Error if the file cannot be read.
  std::vector<uint8_t*> load(const std::string& path, std::span<const Region> regions, ThreadPool& pool);
  size_t bytes() const { return size_; }

 private:
  uint8_t* mem_ = nullptr;
  size_t size_ = 0;
};

}  // namespace r1
