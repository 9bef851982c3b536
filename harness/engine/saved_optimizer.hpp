#pragma once
// Optimizer state as a checkpoint holds it, read without LibTorch: Python state dicts
// ({'state': {index: {...}}, 'param_groups': [...]}) and LibTorch archives (state keyed by
// tensor address) in one form, the optimizer class it implies and its hyper-parameters.
#include <cstddef>
#include <map>
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
  // torch.distributed.checkpoint.state_dict.get_state_dict names parameters instead of
  // numbering them: the name at each position, in param_groups order ("" when numbered).
  std::vector<std::string> parameter_names;
};

// Throws std::invalid_argument naming what is malformed.
SavedOptimizerState read_saved_optimizer(const Value& saved);

// "Adam", "SGD", "RMSprop", "Adagrad" from the state keys (or group keys when no step was
// taken); "Adam or AdamW" when the two cannot be told apart (before PyTorch 2.7, whose
// groups say decoupled_weight_decay); "" when unknown.
std::string implied_optimizer_class(const SavedOptimizerState& saved);

// Whether a saved state's implied class fits the model's optimizer class ("" and
// "Adam or AdamW" fit what they may be).
bool optimizer_classes_agree(const std::string& saved, const std::string& model);

// A group's numeric hyper-parameters by Python name, betas flattened to beta1 and beta2,
// booleans as 0 or 1 (None, tensors and other values left out, betas too unless both are numbers).
std::map<std::string, double> saved_hyper(const SavedOptimizerState::Group& group);

// Whether two hyper-parameter values differ beyond rounding, and one as messages show it ("0.0002").
bool hyper_values_differ(double a, double b);
std::string format_hyper_value(double value);

// PyTorch 2.x param-group flags that LibTorch's C++ optimizers do not have (foreach, fused,
// capturable, differentiable, maximize), each one set in a saved group said with what it
// changes when training resumes in C++. Notes, not problems: Python's load_state_dict keeps
// them, so the team's own training resumes as it ran.
std::vector<std::string> explain_training_flags(const SavedOptimizerState& saved);

// A Python int, float or bool as a double; throws std::invalid_argument for anything else.
double number_of(const Value& v);

}  // namespace ckpt
