// materialize_all FILE: reads a checkpoint, materialises every tensor (and bare storage)
// reachable from its root as a torch tensor, and reads every byte of each through
// t.contiguous() into a checksum, so none of the work can be optimised away. Prints the
// counts, the checksum and where the time went. Used by ci/bench.sh against `cat FILE`.
// Exit codes: 0 fine, 1 unreadable checkpoint, 2 usage.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "reader/checkpoint.hpp"
#include "reader/read_error.hpp"
#include "tensor/materialize.hpp"

namespace {

struct Checksum {
  std::uint64_t x = 0;    // XOR of 64-bit words
  std::uint64_t sum = 0;  // wrapping sum of the same words
};

void add_bytes(Checksum& c, const std::uint8_t* p, std::size_t n) {
  std::uint64_t x0 = 0, x1 = 0, s0 = 0, s1 = 0;
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    std::uint64_t a, b;
    std::memcpy(&a, p + i, 8);
    std::memcpy(&b, p + i + 8, 8);
    x0 ^= a;
    x1 ^= b;
    s0 += a;
    s1 += b;
  }
  std::uint64_t tail = 0;
  for (std::size_t k = 0; i < n; ++i, ++k) tail |= std::uint64_t{p[i]} << (8 * (k % 8));
  c.x ^= x0 ^ x1 ^ tail;
  c.sum += s0 + s1 + tail;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || argv[1][0] == '-') {
    std::fprintf(stderr, "usage: materialize_all CHECKPOINT\n");
    return 2;
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const ckpt::Checkpoint checkpoint = ckpt::read_checkpoint(argv[1]);
    const double read_s = seconds_since(t0);

    const auto t1 = std::chrono::steady_clock::now();
    std::uint64_t tensors = 0, bytes = 0;
    std::unordered_set<const ckpt::StorageRef*> storages;
    std::uint64_t storage_bytes = 0;
    Checksum checksum;
    std::unordered_set<const ckpt::Value*> seen;
    std::vector<const ckpt::Value*> todo{&checkpoint.root()};
    while (!todo.empty()) {
      const ckpt::Value* v = todo.back();
      todo.pop_back();
      if (!seen.insert(v).second) continue;
      if (v->kind == ckpt::ValueKind::kTensor || v->kind == ckpt::ValueKind::kStorage) {
        const at::Tensor t = ckpt::materialize(v->tensor).contiguous();
        const auto n = static_cast<std::size_t>(t.nbytes());
        if (n > 0) add_bytes(checksum, static_cast<const std::uint8_t*>(t.data_ptr()), n);
        ++tensors;
        bytes += n;
        if (storages.insert(v->tensor.storage.get()).second) storage_bytes += v->tensor.storage->nbytes;
      }
      for (const auto& child : ckpt::children_of(*v)) todo.push_back(child.value);
    }
    const double touch_s = seconds_since(t1);

    std::printf("%s: %" PRIu64 " tensors, %" PRIu64 " bytes read through them (%zu storages, %" PRIu64
                " bytes), checksum %016" PRIx64 "/%016" PRIx64 "\n",
                checkpoint.file().c_str(), tensors, bytes, storages.size(), storage_bytes, checksum.x, checksum.sum);
    std::printf("time: read_checkpoint %.1f ms, materialise + read %.1f ms (%.0f MB/s)\n", read_s * 1e3, touch_s * 1e3,
                touch_s > 0 ? static_cast<double>(bytes) / 1e6 / touch_s : 0.0);
    return 0;
  } catch (const ckpt::ReadError& e) {
    std::fprintf(stderr, "error [%s]: %s\n", ckpt::to_string(e.kind()), e.what());
    return 1;
  }
}
