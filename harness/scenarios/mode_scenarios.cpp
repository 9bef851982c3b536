// eval-mode and train-mode: after a load, every submodule is in the right mode, and it
// behaves so: in eval, batch norm uses its running statistics and dropout is off; in
// train, batch-norm statistics move.
#include <torch/csrc/autograd/grad_mode.h>

#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>

#include "scenarios/case_text.hpp"
#include "scenarios/scenario_functions.hpp"

namespace ckpt {

namespace {
// Submodules whose mode is not `training` ("main.1 (BatchNorm2d)").
std::vector<std::string> wrong_mode(const torch::nn::Module& module, bool training) {
  std::vector<std::string> out;
  for (const auto& item : module.named_modules("", /*include_self=*/true)) {
    if (item.value()->is_training() != training) {
      out.push_back((item.key().empty() ? "(the module itself)" : item.key()) + " (" + item.value()->name() + ")");
    }
  }
  return out;
}

std::map<std::string, at::Tensor> running_stats(const torch::nn::Module& module) {
  std::map<std::string, at::Tensor> out;
  for (const auto& b : module.named_buffers()) {
    const std::string& k = b.key();
    if (k.find("running_mean") != std::string::npos || k.find("running_var") != std::string::npos) {
      out[k] = b.value().clone();
    }
  }
  return out;
}

const Module& module_of(LoadedModel& model, const std::string& name) {
  const Module* m = model.module(name);
  if (!m) throw SkipCase("the plugin's model has no module '" + name + "'");
  return *m;
}
}  // namespace

CaseResult run_eval_mode(UnitContext& ctx, const std::string& name) {
  ctx.require_values("eval-mode");
  ctx.require_strict(name);
  LoadedModel& model = ctx.loaded_model();
  const Module& m = module_of(model, name);
  m.module->eval();
  const std::vector<std::string> training = wrong_mode(*m.module, false);
  std::vector<std::string> problems, checked;
  for (const auto& t : training) problems.push_back(t + " still trains after eval()");
  checked.push_back("every submodule reports eval");
  const at::Tensor x = m.forward ? ctx.plugin().sample_input(model, name, ctx.settings().batch) : at::Tensor();
  if (x.defined()) {
    torch::NoGradGuard no_grad;
    const auto before = running_stats(*m.module);
    const at::Tensor y1 = m.forward(x);
    const at::Tensor y2 = m.forward(x);
    if (!at::equal(y1, y2)) problems.push_back("two forward passes on the same input differ: dropout (or noise) is active in eval");
    checked.push_back("two forward passes agree (dropout off)");
    const at::Tensor single = m.forward(x.narrow(0, 0, 1));
    if (!at::allclose(y1.narrow(0, 0, 1), single, ctx.settings().rtol, ctx.settings().atol)) {
      problems.push_back("a sample's output depends on the rest of its batch: batch norm uses batch statistics, not its running ones");
    }
    checked.push_back("a sample's output does not depend on its batch (batch norm uses running statistics)");
    for (const auto& [key, value] : running_stats(*m.module)) {
      if (!at::equal(value, before.at(key))) problems.push_back("running statistic '" + key + "' changed in eval mode");
    }
  } else {
    checked.push_back("no forward or sample input: behaviour not checked");
  }
  nlohmann::json data{{"checked", checked}, {"problems", problems}};
  if (!problems.empty()) return make_case(Outcome::kFail, problems.front(), bullet_list("problems", problems), data);
  return make_case(Outcome::kPass, "eval mode holds: " + std::to_string(checked.size()) + " check(s)",
                   bullet_list("checked", checked), data);
}

CaseResult run_train_mode(UnitContext& ctx, const std::string& name) {
  ctx.require_values("train-mode");
  ctx.require_strict(name);
  LoadedModel& model = ctx.resumed_model();
  const Module& m = module_of(model, name);
  m.module->train();
  std::vector<std::string> problems, checked;
  for (const auto& t : wrong_mode(*m.module, true)) problems.push_back(t + " does not train after train()");
  checked.push_back("every submodule reports training");
  const auto before = running_stats(*m.module);
  if (!before.empty() && m.forward) {
    const at::Tensor x = ctx.plugin().sample_input(model, name, ctx.settings().batch);
    if (x.defined()) {
      torch::NoGradGuard no_grad;
      // The unit's other scenarios share this model: put its buffers back afterwards.
      std::map<std::string, at::Tensor> buffers;
      for (const auto& b : m.module->named_buffers()) buffers[b.key()] = b.value().clone();
      m.forward(x);
      const auto after = running_stats(*m.module);
      for (auto& b : m.module->named_buffers()) b.value().copy_(buffers.at(b.key()));
      std::vector<std::string> still;
      for (const auto& [key, value] : after) {
        if (at::equal(value, before.at(key))) still.push_back(key);
      }
      for (const auto& s : still) problems.push_back("batch-norm statistic '" + s + "' did not move in a training forward pass");
      checked.push_back(std::to_string(before.size()) + " batch-norm statistics move in a training forward pass");
    }
  } else {
    checked.push_back(before.empty() ? "no batch-norm statistics to check" : "no forward: statistics not checked");
  }
  nlohmann::json data{{"checked", checked}, {"problems", problems}};
  if (!problems.empty()) return make_case(Outcome::kFail, problems.front(), bullet_list("problems", problems), data);
  return make_case(Outcome::kPass, "train mode holds: " + std::to_string(checked.size()) + " check(s)",
                   bullet_list("checked", checked), data);
}

}  // namespace ckpt
