#pragma once
// Loads a checkpoint's state dict into a LibTorch module, as PyTorch's load_state_dict
// would, with the outcome reported: strict (all or nothing) and relaxed (what fits).
#include <torch/nn/module.h>

#include "engine/compare.hpp"

namespace ckpt {

enum class DTypePolicy {
  kCastLikePyTorch,  // copy_ casts any dtype, as load_state_dict does
  kCastFloating,     // cast between floating types only; others are skipped
  kExact,            // only identical dtypes load
};

struct LoadReport {
  std::string module;
  bool strict = false;
  bool applied = false;                  // strict: all loaded; false: module untouched
  std::size_t tensors_loaded = 0;
  std::size_t tensors_total = 0;
  std::uint64_t elements_loaded = 0;
  std::uint64_t elements_total = 0;
  std::vector<std::string> left_at_initialisation;  // model keys that kept their initial values
  // Layers by what stayed: "main.3 (BatchNorm2d)" when every tensor of it did; a norm layer
  // with only some: "main.3 (BatchNorm2d): running_mean, running_var".
  std::vector<std::string> layers_left_at_initialisation;
  // Normalisation layers of one kind in the model and another in the checkpoint:
  // "main.3: a BatchNorm2d in the model, saved by a norm layer without state (InstanceNorm2d ...)".
  std::vector<std::string> norm_changes;
  std::vector<std::string> cast;                     // loaded with a dtype conversion
  std::vector<std::string> skipped;                  // present but not loadable ("key: reason")
  double fraction_by_tensors() const;
  double fraction_by_elements() const;
};

// Strict: when `comparison` is not strictly loadable nothing is touched; else every
// tensor is copied (BatchNorm v1 gets num_batches_tracked = 0, as in PyTorch).
LoadReport load_strict(torch::nn::Module& module, const ModuleComparison& comparison, const StateDict& state);

// Relaxed: loads every tensor whose shape fits and whose dtype the policy accepts.
LoadReport load_relaxed(torch::nn::Module& module, const ModuleComparison& comparison, const StateDict& state,
                        DTypePolicy policy = DTypePolicy::kCastLikePyTorch);

}  // namespace ckpt
