// libFuzzer entry point for the GGUF reader: any input must either parse into a
// File whose every view lies inside the input, or throw r1::Error. Crashes,
// sanitizer reports and broken invariants (checked below with __builtin_trap) fail.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/error.hpp"
#include "format/gguf.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void exercise_metadata(const r1::gguf::Metadata& md) {
  for (const auto& [key, v] : md.entries()) {
    check(md.find(key) == &v);
    // Every getter either converts or throws r1::Error.
    try { (void)md.get_int(key); } catch (const r1::Error&) {}
    try { (void)md.get_float(key); } catch (const r1::Error&) {}
    try { (void)md.get_string(key); } catch (const r1::Error&) {}
    try { (void)md.get_bool_or(key, false); } catch (const r1::Error&) {}
    try { (void)md.get_ints(key); } catch (const r1::Error&) {}
    try { (void)md.get_floats(key); } catch (const r1::Error&) {}
    try { (void)md.get_strings(key); } catch (const r1::Error&) {}
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<r1::gguf::File> f;
  try {
    f = r1::gguf::File::parse(data, size, "fuzz.gguf");
  } catch (const r1::Error&) {
    return 0;
  }
  check(f->alignment() != 0 && (f->alignment() & (f->alignment() - 1)) == 0);
  std::vector<const r1::gguf::TensorInfo*> order;
  volatile uint8_t sink = 0;
  for (const auto& t : f->tensors()) {
    check(t.data >= data && t.nbytes > 0 && t.nbytes <= size && t.data + t.nbytes <= data + size);
    check(f->find_tensor(t.name) == &t);
    check(t.n_elements() > 0 && t.n_rows() > 0 && t.shape.size() >= 1 && t.shape.size() <= 4);
    sink = sink ^ t.data[0] ^ t.data[t.nbytes - 1];  // ASan checks both ends are inside the input
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->data < b->data; });
  for (size_t k = 1; k < order.size(); ++k) check(order[k - 1]->data + order[k - 1]->nbytes <= order[k]->data);
  exercise_metadata(f->metadata());
  (void)sink;
  return 0;
}
