#pragma once
// Counts over a checkpoint tree that every view of it shows: tensors, elements, bytes,
// storages (tied weights counted once), and which storages are shared.
#include <cstdint>
#include <map>

#include "reader/value.hpp"

namespace ckpt {

struct CheckpointSummary {
  std::uint64_t tensors = 0;             // tensor values reachable from the root
  std::uint64_t elements = 0;            // sum of their element counts
  std::uint64_t parameter_elements = 0;  // of which in nn.Parameters
  std::uint64_t storages = 0;            // distinct storages
  std::uint64_t storage_bytes = 0;       // bytes of those storages
  std::map<const StorageRef*, std::uint32_t> tensors_per_storage;
};

CheckpointSummary summarize(const Value& root);

// Recognises a PyTorch optimizer state dict ({'state': {...}, 'param_groups': [...]}).
struct OptimizerSummary {
  std::size_t groups = 0;
  std::size_t params = 0;            // ids listed in the groups
  std::size_t params_with_state = 0;
  std::string state_keys;            // "exp_avg, exp_avg_sq, step"
  std::string likely_class;          // "Adam", "SGD", ... or "" when unsure
};
bool summarize_optimizer(const Value& value, OptimizerSummary& out);

}  // namespace ckpt
