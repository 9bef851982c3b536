#pragma once
// Optimizer state in a checkpoint against the plugin's LibTorch optimizer: Python state
// dicts ({'state': {index: {...}}, 'param_groups': [...]}) and LibTorch archives (state
// keyed by tensor address). Python only checks group counts; this checks the class
// implied by the state, group sizes, every state tensor's shape, and hyper-parameters.
#include <ckpt/plugin.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/saved_optimizer.hpp"
#include "reader/value.hpp"

namespace ckpt {

std::string optimizer_class(const torch::optim::Optimizer& optimizer);  // LibTorch class
// Hyper-parameters of one LibTorch group by Python name, flattened as saved_hyper does.
std::map<std::string, double> model_hyper(const torch::optim::OptimizerOptions& options);

struct OptimizerComparison {
  std::string optimizer;
  std::string source;
  bool present = false;                       // false: no state saved, a fresh optimizer is used
  std::string saved_class;
  std::string model_class;
  std::vector<std::string> problems;          // each makes the state unusable
  std::vector<std::string> hyper_differences; // "lr: checkpoint 0.001, model 0.0002"
  std::vector<std::string> flag_notes;        // PyTorch 2.x flags the C++ optimizer lacks (explain_training_flags)
  bool loadable() const { return present && problems.empty(); }
};

OptimizerComparison compare_optimizer(const Optimizer& optimizer, const SavedOptimizerState* saved, const std::string& source);

// The step count the saved state records (the largest per-parameter 'step'); nullopt when
// the class keeps none or no step was taken.
std::optional<std::int64_t> saved_step_count(const SavedOptimizerState& saved);

// Every per-parameter state tensor of a LibTorch optimizer, keyed
// "<qualified parameter>.<state>" ("generator.main.0.weight.exp_avg"; steps as 0-d tensors),
// for comparing two optimizers' states.
std::map<std::string, at::Tensor> optimizer_state_tensors(const Optimizer& optimizer);

// Loads the saved state and hyper-parameters into the optimizer, as Python's
// Optimizer.load_state_dict does. Call only when compare_optimizer found it loadable.
void load_optimizer_state(Optimizer& optimizer, const SavedOptimizerState& saved);

}  // namespace ckpt
