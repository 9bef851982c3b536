#pragma once
// Shared by the libFuzzer targets: the input as a ByteSource, the options every target reads
// with, and a walk over a finished tree that checks what the reader promises about it.
// A ckpt::ReadError is an expected outcome; a violated invariant aborts (a finding).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "reader/byte_source.hpp"
#include "reader/checkpoint.hpp"
#include "reader/checkpoint_summary.hpp"
#include "reader/dcp_layout.hpp"
#include "reader/read_error.hpp"
#include "reader/tensor_ref.hpp"
#include "reader/value.hpp"

namespace ckpt_fuzz {

[[noreturn]] inline void invariant_failed(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "\n*** reader invariant violated: %s%s%s\n", what, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

#define CKPT_FUZZ_CHECK(cond, detail)                                        \
  do {                                                                       \
    if (!(cond)) ::ckpt_fuzz::invariant_failed("CHECK(" #cond ")", (detail)); \
  } while (0)

// The expected outcome for most inputs. With CKPT_FUZZ_VERBOSE=1 it is printed, which helps
// when running a target on single files (seeds, reproducers).
inline void expected_error(const ckpt::ReadError& e) {
  static const bool verbose = [] {
    const char* v = std::getenv("CKPT_FUZZ_VERBOSE");
    return v && *v && *v != '0';
  }();
  const std::string where = e.where();
  const std::string what = e.what_happened();
  if (verbose) std::fprintf(stderr, "ReadError (%s) at %s: %s\n", ckpt::to_string(e.kind()), where.c_str(), what.c_str());
}

inline void read_ok(const char* what) {
  static const bool verbose = [] {
    const char* v = std::getenv("CKPT_FUZZ_VERBOSE");
    return v && *v && *v != '0';
  }();
  if (verbose) std::fprintf(stderr, "read OK: %s\n", what);
}

inline std::shared_ptr<const ckpt::ByteSource> input_source(const std::uint8_t* data, std::size_t size,
                                                            std::string name = "fuzz-input") {
  return ckpt::ByteSource::from_memory(std::move(name), std::vector<std::uint8_t>(data, data + size));
}

// Smaller than the defaults so that the depth and expansion limits are reachable from small
// inputs, and so that the unshared walk below stays cheap; the fixtures are far inside them.
inline ckpt::ReadOptions fuzz_options() {
  ckpt::ReadOptions o;
  o.max_depth = 64;
  o.max_expanded_values = 1u << 16;
  return o;
}

// The bytes of a storage must lie inside its source; read them all so ASan sees every one.
// Zip records are located lazily: a malformed local header surfaces here as a ReadError,
// which is a correct outcome, like one from the read itself.
inline void check_storage(const ckpt::StorageRef& s) {
  CKPT_FUZZ_CHECK(s.source != nullptr, "storage '" + s.key + "' has no source");
  const std::uint64_t size = s.source->size();
  std::uint64_t offset = 0;
  try {
    offset = s.data_offset();
  } catch (const ckpt::ReadError&) {
    return;
  }
  CKPT_FUZZ_CHECK(offset <= size && s.nbytes <= size - offset, "storage '" + s.key + "' lies outside its source");
  std::string_view bytes = s.source->view(static_cast<std::size_t>(offset), static_cast<std::size_t>(s.nbytes));
  unsigned sum = 0;
  for (char c : bytes) sum += static_cast<unsigned char>(c);
  volatile unsigned sink = sum;
  (void)sink;
}

// A tensor's data lies in its storage, except a meta tensor's (none) and a sparse one's (in
// its parts); a per-channel quantized tensor's scales and zero points are tensors too.
inline void check_tensor(const ckpt::TensorRef& t) {
  const std::string problem = ckpt::check_view_within_storage(t);
  CKPT_FUZZ_CHECK(problem.empty(), "a finished tree holds a tensor view outside its storage: " + problem);
  (void)t.numel();
  (void)t.nbytes();
  (void)t.kind_note();
  if (t.is_sparse()) {
    CKPT_FUZZ_CHECK(t.storage == nullptr, "sparse tensor with a storage of its own");
    for (const auto& part : t.parts) check_tensor(part);
    return;
  }
  (void)t.is_contiguous();
  if (t.meta) {
    CKPT_FUZZ_CHECK(t.storage == nullptr, "meta tensor with a storage");
    return;
  }
  if (t.chunks) {  // a DCP tensor: chunks in its records, no storage; damaged or every chunk inside it
    CKPT_FUZZ_CHECK(t.storage == nullptr, "DCP tensor with a storage");
    CKPT_FUZZ_CHECK(t.strides.size() == t.sizes.size(), "DCP tensor's strides and sizes differ in length");
    if (t.chunks->damage.empty()) {
      for (const auto& c : t.chunks->chunks) {
        CKPT_FUZZ_CHECK(c.offsets.size() == t.sizes.size() && c.sizes.size() == t.sizes.size(), "chunk of another rank");
        for (std::size_t d = 0; d < t.sizes.size(); ++d) {
          CKPT_FUZZ_CHECK(c.offsets[d] >= 0 && c.sizes[d] >= 0 && c.offsets[d] <= t.sizes[d] && c.sizes[d] <= t.sizes[d] - c.offsets[d],
                          "undamaged DCP tensor with a chunk outside its shape");
        }
      }
    }
    return;
  }
  CKPT_FUZZ_CHECK(t.storage != nullptr, "tensor without storage");
  check_storage(*t.storage);
  if (t.quantization && t.quantization->per_channel()) {
    check_tensor(*t.quantization->scales);
    check_tensor(*t.quantization->zero_points);
  }
}

inline void check_value(const ckpt::Value& v) {
  using ckpt::ValueKind;
  (void)ckpt::to_string(v.kind);
  (void)v.is_container();
  (void)v.metadata();
  (void)v.find("state");
  if (v.kind == ValueKind::kTensor) check_tensor(v.tensor);
  // A bare storage (a persistent id no tensor rebuild took, e.g. in an unknown callable's
  // arguments) is bytes of its dtype: a quantized one (QUInt8Storage) needs no scale.
  if (v.kind == ValueKind::kStorage && v.tensor.storage) check_storage(*v.tensor.storage);
  if (v.kind == ValueKind::kObject) CKPT_FUZZ_CHECK(!v.text.empty(), "object without a class name");
}

// Walks every path of the tree (shared values once per path, as any naive recursive walker
// would): finish() promises no cycles, at most max_depth values on a path and at most
// max_expanded_values values over all paths. Paths are rendered for the first values.
inline void walk_tree(const ckpt::Value& root, const ckpt::ReadOptions& options) {
  struct Item {
    const ckpt::Value* value;
    std::size_t depth;  // values on the path, the root counting 1
    ckpt::Path path;
  };
  std::vector<Item> todo;
  todo.push_back({&root, 1, ckpt::Path()});
  std::uint64_t visited = 0;
  while (!todo.empty()) {
    Item item = std::move(todo.back());
    todo.pop_back();
    CKPT_FUZZ_CHECK(item.value != nullptr, "null child at " + item.path.str());
    if (++visited > options.max_expanded_values) {
      invariant_failed("the finished tree expands to more values than max_expanded_values",
                       std::to_string(options.max_expanded_values));
    }
    if (item.depth > options.max_depth) {
      invariant_failed("a path in the finished tree is longer than max_depth",
                       std::to_string(item.depth) + " > " + std::to_string(options.max_depth) + " at " + item.path.str());
    }
    check_value(*item.value);
    const bool render = visited < 4096;
    if (render) (void)item.path.str();
    for (const ckpt::ValueChild& c : ckpt::children_of(*item.value)) {
      todo.push_back({c.value, item.depth + 1, render ? ckpt::child_path(item.path, c.component) : ckpt::Path()});
    }
  }
}

inline void exercise(const ckpt::Checkpoint& checkpoint, const ckpt::ReadOptions& options) {
  (void)ckpt::to_string(checkpoint.format());
  walk_tree(checkpoint.root(), options);
  const ckpt::CheckpointSummary summary = ckpt::summarize(checkpoint.root());
  // A DCP tensor is one storage of its own (its chunks assembled), keyed by no StorageRef.
  CKPT_FUZZ_CHECK(summary.storages == summary.tensors_per_storage.size() + ckpt::chunked_tensors(checkpoint.root()).size(),
                  "summary counts storages twice");
  ckpt::OptimizerSummary optimizer;
  (void)ckpt::summarize_optimizer(checkpoint.root(), optimizer);
  for (const auto& f : checkpoint.findings()) (void)f.message();
  for (const auto& f : checkpoint.integrity_findings()) (void)f.message();
  for (const auto& file : ckpt::dcp_file_chunks(checkpoint.root())) (void)file.record_bytes;
  for (const auto& [key, value] : checkpoint.properties()) (void)key.size(), (void)value.size();
  read_ok(ckpt::to_string(checkpoint.format()));
}

}  // namespace ckpt_fuzz
