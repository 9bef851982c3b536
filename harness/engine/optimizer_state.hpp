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

#include "reader/value.hpp"

namespace ckpt {

// The checkpoint's optimizer state in one form, whatever wrote it.
struct SavedOptimizerState {
  struct Group {
    std::map<std::string, const Value*> hyper;  // lr, betas, eps, ... (not 'params')
    std::vector<std::size_t> positions;         // parameter positions, in order
  };
  std::vector<Group> groups;
  std::map<std::size_t, std::map<std::string, const Value*>> state;  // position -> step, exp_avg, ...
  std::string format;  // "python" or "libtorch"
};

// Throws std::invalid_argument naming what is malformed.
SavedOptimizerState read_saved_optimizer(const Value& saved);

// "Adam", "SGD", "RMSprop", "Adagrad" from the state keys (or group keys when no step was
// taken); "Adam or AdamW" when the two cannot be told apart; "" when unknown.
std::string implied_optimizer_class(const SavedOptimizerState& saved);
std::string optimizer_class(const torch::optim::Optimizer& optimizer);  // LibTorch class

struct OptimizerComparison {
  std::string optimizer;
  std::string source;
  bool present = false;                       // false: no state saved, a fresh optimizer is used
  std::string saved_class;
  std::string model_class;
  std::vector<std::string> problems;          // each makes the state unusable
  std::vector<std::string> hyper_differences; // "lr: checkpoint 0.001, model 0.0002"
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
