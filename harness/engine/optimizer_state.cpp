#include "engine/optimizer_state.hpp"
#include "engine/optimizer_state_key.hpp"

#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/rmsprop.h>
#include <torch/optim/sgd.h>

#include <ATen/ops/empty.h>
#include <ATen/ops/scalar_tensor.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "tensor/materialize.hpp"

namespace ckpt {

namespace {
std::int64_t step_of(const Value& v) {
  if (v.kind == ValueKind::kTensor) return static_cast<std::int64_t>(materialize(v.tensor).item<double>());
  return static_cast<std::int64_t>(number_of(v));
}

// State keys each class keeps per parameter, and whether they are tensors shaped like it.
const std::map<std::string, std::set<std::string>>& state_tensors() {
  static const std::map<std::string, std::set<std::string>> keys{
      {"Adam", {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}},
      {"AdamW", {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}},
      {"SGD", {"momentum_buffer"}},
      {"RMSprop", {"square_avg", "momentum_buffer", "grad_avg"}},
      {"Adagrad", {"sum"}},
  };
  return keys;
}

std::vector<at::Tensor> flat_params(const torch::optim::Optimizer& o) {
  std::vector<at::Tensor> out;
  for (const auto& g : o.param_groups()) {
    for (const auto& p : g.params()) out.push_back(p);
  }
  return out;
}
}  // namespace

std::map<std::string, double> model_hyper(const torch::optim::OptimizerOptions& o) {
  if (const auto* a = dynamic_cast<const torch::optim::AdamOptions*>(&o)) {
    return {{"lr", a->lr()}, {"beta1", std::get<0>(a->betas())}, {"beta2", std::get<1>(a->betas())},
            {"eps", a->eps()}, {"weight_decay", a->weight_decay()}, {"amsgrad", a->amsgrad() ? 1.0 : 0.0}};
  }
  if (const auto* a = dynamic_cast<const torch::optim::AdamWOptions*>(&o)) {
    return {{"lr", a->lr()}, {"beta1", std::get<0>(a->betas())}, {"beta2", std::get<1>(a->betas())},
            {"eps", a->eps()}, {"weight_decay", a->weight_decay()}, {"amsgrad", a->amsgrad() ? 1.0 : 0.0}};
  }
  if (const auto* s = dynamic_cast<const torch::optim::SGDOptions*>(&o)) {
    return {{"lr", s->lr()}, {"momentum", s->momentum()}, {"dampening", s->dampening()},
            {"weight_decay", s->weight_decay()}, {"nesterov", s->nesterov() ? 1.0 : 0.0}};
  }
  if (const auto* r = dynamic_cast<const torch::optim::RMSpropOptions*>(&o)) {
    return {{"lr", r->lr()}, {"alpha", r->alpha()}, {"eps", r->eps()}, {"weight_decay", r->weight_decay()},
            {"momentum", r->momentum()}, {"centered", r->centered() ? 1.0 : 0.0}};
  }
  if (const auto* g = dynamic_cast<const torch::optim::AdagradOptions*>(&o)) {
    return {{"lr", g->lr()}, {"lr_decay", g->lr_decay()}, {"weight_decay", g->weight_decay()},
            {"initial_accumulator_value", g->initial_accumulator_value()}, {"eps", g->eps()}};
  }
  return {};
}

std::string optimizer_class(const torch::optim::Optimizer& o) {
  if (dynamic_cast<const torch::optim::AdamW*>(&o)) return "AdamW";
  if (dynamic_cast<const torch::optim::Adam*>(&o)) return "Adam";
  if (dynamic_cast<const torch::optim::SGD*>(&o)) return "SGD";
  if (dynamic_cast<const torch::optim::RMSprop*>(&o)) return "RMSprop";
  if (dynamic_cast<const torch::optim::Adagrad*>(&o)) return "Adagrad";
  return "unknown";
}

OptimizerComparison compare_optimizer(const Optimizer& optimizer, const SavedOptimizerState* saved, const std::string& source) {
  OptimizerComparison out;
  out.optimizer = optimizer.name;
  out.source = source;
  const torch::optim::Optimizer& o = *optimizer.optimizer;
  out.model_class = optimizer_class(o);
  if (!saved) return out;
  out.present = true;
  out.saved_class = implied_optimizer_class(*saved);
  if (!optimizer_classes_agree(out.saved_class, out.model_class)) {
    out.problems.push_back("the saved state is " + out.saved_class + "'s, the model's optimizer is " + out.model_class);
  }
  out.flag_notes = explain_training_flags(*saved);
  const auto& groups = o.param_groups();
  if (saved->groups.size() != groups.size()) {
    out.problems.push_back("loaded state dict has a different number of parameter groups: checkpoint " +
                           std::to_string(saved->groups.size()) + ", model " + std::to_string(groups.size()));
    return out;
  }
  const std::vector<at::Tensor> params = flat_params(o);
  auto name_of = [&](std::size_t position) {
    return position < optimizer.parameters.size() ? optimizer.parameters[position] : "#" + std::to_string(position);
  };
  // State saved by name (get_state_dict) goes to the parameter of that name: a name that is
  // not the model's at its position (a renamed or reordered parameter) would put it elsewhere,
  // or stop set_state_dict. Names match up to the module prefix one side adds.
  auto same_parameter = [](const std::string& a, const std::string& b) {
    auto ends_with = [](const std::string& s, const std::string& tail) {
      return s.size() > tail.size() && s.compare(s.size() - tail.size() - 1, tail.size() + 1, "." + tail) == 0;
    };
    return a == b || ends_with(a, b) || ends_with(b, a);
  };
  for (std::size_t i = 0; i < saved->parameter_names.size() && i < optimizer.parameters.size(); ++i) {
    if (!same_parameter(saved->parameter_names[i], optimizer.parameters[i])) {
      out.problems.push_back("parameter #" + std::to_string(i) + " is '" + saved->parameter_names[i] + "' in the checkpoint, '" +
                             optimizer.parameters[i] + "' in the model: state saved by parameter name goes to the parameter "
                             "of that name");
    }
  }
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (saved->groups[g].positions.size() != groups[g].params().size()) {
      out.problems.push_back("group " + std::to_string(g) + " has " + std::to_string(saved->groups[g].positions.size()) +
                             " parameters in the checkpoint, " + std::to_string(groups[g].params().size()) +
                             " in the model (loaded state dict contains a parameter group that doesn't match the size of optimizer's group)");
      continue;
    }
    const auto model = model_hyper(groups[g].options());
    for (const auto& [key, value] : saved_hyper(saved->groups[g])) {
      auto it = model.find(key);
      if (it != model.end() && hyper_values_differ(it->second, value)) {
        out.hyper_differences.push_back("group " + std::to_string(g) + " " + key + ": checkpoint " + format_hyper_value(value) +
                                        ", model " + format_hyper_value(it->second));
      }
    }
  }
  const auto tensor_keys = state_tensors().count(out.model_class) ? state_tensors().at(out.model_class) : std::set<std::string>{};
  for (const auto& [position, state] : saved->state) {
    if (position >= params.size()) {
      out.problems.push_back("state for parameter #" + std::to_string(position) + ", but the optimizer has " +
                             std::to_string(params.size()) + " parameters");
      continue;
    }
    for (const auto& [key, v] : state) {
      if (!tensor_keys.count(key)) continue;
      if (v->kind != ValueKind::kTensor) {
        out.problems.push_back(name_of(position) + ": state '" + key + "' is a " + to_string(v->kind) + ", expected a tensor");
        continue;
      }
      if (v->tensor.sizes != params[position].sizes().vec()) {
        out.problems.push_back(name_of(position) + ": state '" + key + "' has shape " + format_shape(v->tensor.sizes) +
                               ", the parameter has " + format_shape(params[position].sizes().vec()));
      }
    }
  }
  return out;
}

void load_optimizer_state(Optimizer& optimizer, const SavedOptimizerState& saved) {
  torch::optim::Optimizer& o = *optimizer.optimizer;
  const std::vector<at::Tensor> params = flat_params(o);
  const std::string cls = optimizer_class(o);
  auto tensor = [](const std::map<std::string, const Value*>& s, const char* key) -> at::Tensor {
    auto it = s.find(key);
    if (it == s.end() || it->second->kind != ValueKind::kTensor) return {};
    return materialize_owned(it->second->tensor);  // the optimizer updates it in place
  };
  auto step = [](const std::map<std::string, const Value*>& s) -> std::int64_t {
    auto it = s.find("step");
    return it == s.end() ? 0 : step_of(*it->second);
  };
  torch::NoGradGuard no_grad;
  for (const auto& [position, s] : saved.state) {
    const auto key = optimizer_state_key(params.at(position));
    std::unique_ptr<torch::optim::OptimizerParamState> state;
    if (cls == "Adam") {
      auto a = std::make_unique<torch::optim::AdamParamState>();
      a->step(step(s)).exp_avg(tensor(s, "exp_avg")).exp_avg_sq(tensor(s, "exp_avg_sq"));
      if (auto m = tensor(s, "max_exp_avg_sq"); m.defined()) a->max_exp_avg_sq(m);
      state = std::move(a);
    } else if (cls == "AdamW") {
      auto a = std::make_unique<torch::optim::AdamWParamState>();
      a->step(step(s)).exp_avg(tensor(s, "exp_avg")).exp_avg_sq(tensor(s, "exp_avg_sq"));
      if (auto m = tensor(s, "max_exp_avg_sq"); m.defined()) a->max_exp_avg_sq(m);
      state = std::move(a);
    } else if (cls == "SGD") {
      auto a = std::make_unique<torch::optim::SGDParamState>();
      a->momentum_buffer(tensor(s, "momentum_buffer"));
      state = std::move(a);
    } else if (cls == "RMSprop") {
      auto a = std::make_unique<torch::optim::RMSpropParamState>();
      a->step(step(s)).square_avg(tensor(s, "square_avg"));
      if (auto m = tensor(s, "momentum_buffer"); m.defined()) a->momentum_buffer(m);
      if (auto m = tensor(s, "grad_avg"); m.defined()) a->grad_avg(m);
      state = std::move(a);
    } else if (cls == "Adagrad") {
      auto a = std::make_unique<torch::optim::AdagradParamState>();
      a->step(step(s)).sum(tensor(s, "sum"));
      state = std::move(a);
    } else {
      throw std::invalid_argument("cannot load state into a " + cls + " optimizer");
    }
    o.state()[key] = std::move(state);
  }
  // Python's load_state_dict takes the saved hyper-parameters.
  for (std::size_t g = 0; g < saved.groups.size() && g < o.param_groups().size(); ++g) {
    const auto hyper = saved_hyper(saved.groups[g]);
    auto get = [&hyper](const char* key, double fallback) {
      auto it = hyper.find(key);
      return it == hyper.end() ? fallback : it->second;
    };
    auto& options = o.param_groups()[g].options();
    if (auto* a = dynamic_cast<torch::optim::AdamOptions*>(&options)) {
      a->lr(get("lr", a->lr())).eps(get("eps", a->eps())).weight_decay(get("weight_decay", a->weight_decay()));
      a->betas({get("beta1", std::get<0>(a->betas())), get("beta2", std::get<1>(a->betas()))});
      a->amsgrad(get("amsgrad", a->amsgrad()) != 0);
    } else if (auto* w = dynamic_cast<torch::optim::AdamWOptions*>(&options)) {
      w->lr(get("lr", w->lr())).eps(get("eps", w->eps())).weight_decay(get("weight_decay", w->weight_decay()));
      w->betas({get("beta1", std::get<0>(w->betas())), get("beta2", std::get<1>(w->betas()))});
      w->amsgrad(get("amsgrad", w->amsgrad()) != 0);
    } else if (auto* s = dynamic_cast<torch::optim::SGDOptions*>(&options)) {
      s->lr(get("lr", s->lr())).momentum(get("momentum", s->momentum())).dampening(get("dampening", s->dampening()));
      s->weight_decay(get("weight_decay", s->weight_decay())).nesterov(get("nesterov", s->nesterov()) != 0);
    } else if (auto* r = dynamic_cast<torch::optim::RMSpropOptions*>(&options)) {
      r->lr(get("lr", r->lr())).alpha(get("alpha", r->alpha())).eps(get("eps", r->eps()));
      r->weight_decay(get("weight_decay", r->weight_decay())).momentum(get("momentum", r->momentum()));
      r->centered(get("centered", r->centered()) != 0);
    } else if (auto* a = dynamic_cast<torch::optim::AdagradOptions*>(&options)) {
      a->lr(get("lr", a->lr())).lr_decay(get("lr_decay", a->lr_decay())).weight_decay(get("weight_decay", a->weight_decay()));
      a->eps(get("eps", a->eps()));
    }
  }
}

std::optional<std::int64_t> saved_step_count(const SavedOptimizerState& saved) {
  std::optional<std::int64_t> steps;
  for (const auto& [position, s] : saved.state) {
    auto it = s.find("step");
    if (it == s.end()) continue;
    const std::int64_t n = step_of(*it->second);
    steps = steps ? std::max(*steps, n) : n;
  }
  return steps;
}

std::map<std::string, at::Tensor> optimizer_state_tensors(const Optimizer& optimizer) {
  torch::optim::Optimizer& o = *optimizer.optimizer;
  const std::vector<at::Tensor> params = flat_params(o);
  std::map<std::string, at::Tensor> out;
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto it = o.state().find(optimizer_state_key(params[i]));
    if (it == o.state().end()) continue;
    const std::string name = i < optimizer.parameters.size() ? optimizer.parameters[i] : "param " + std::to_string(i);
    auto put = [&](const char* key, const at::Tensor& t) {
      if (t.defined()) out[name + "." + key] = t;
    };
    auto step = [&](std::int64_t n) { out[name + ".step"] = at::scalar_tensor(static_cast<double>(n), at::kLong); };
    const torch::optim::OptimizerParamState* state = it->second.get();
    if (const auto* a = dynamic_cast<const torch::optim::AdamParamState*>(state)) {
      step(a->step()), put("exp_avg", a->exp_avg()), put("exp_avg_sq", a->exp_avg_sq()), put("max_exp_avg_sq", a->max_exp_avg_sq());
    } else if (const auto* w = dynamic_cast<const torch::optim::AdamWParamState*>(state)) {
      step(w->step()), put("exp_avg", w->exp_avg()), put("exp_avg_sq", w->exp_avg_sq()), put("max_exp_avg_sq", w->max_exp_avg_sq());
    } else if (const auto* s = dynamic_cast<const torch::optim::SGDParamState*>(state)) {
      put("momentum_buffer", s->momentum_buffer());
    } else if (const auto* r = dynamic_cast<const torch::optim::RMSpropParamState*>(state)) {
      step(r->step()), put("square_avg", r->square_avg()), put("momentum_buffer", r->momentum_buffer()), put("grad_avg", r->grad_avg());
    } else if (const auto* g = dynamic_cast<const torch::optim::AdagradParamState*>(state)) {
      step(g->step()), put("sum", g->sum());
    }
  }
  return out;
}

}  // namespace ckpt
