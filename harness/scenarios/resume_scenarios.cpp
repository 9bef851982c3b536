// epoch-resume and resume-determinism: can training go on from this checkpoint, at the
// right epoch, and does going on from a save give what training straight through gives?
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/optim/schedulers/step_lr.h>

#include <filesystem>

#include <ATen/ops/abs.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>
#include <cmath>
#include <sstream>

#include "engine/module_schema.hpp"
#include "engine/optimizer_state.hpp"
#include "reader/read_error.hpp"
#include "reader/training_state.hpp"
#include "engine/locator.hpp"
#include "scenarios/case_text.hpp"
#include "scenarios/scenario_functions.hpp"
#include "tensor/materialize.hpp"

namespace ckpt {

namespace {
// A scalar from the tree: int, float or a one-element tensor.
std::optional<double> scalar_of(const Value& v) {
  if (v.kind == ValueKind::kInt) return static_cast<double>(v.integer);
  if (v.kind == ValueKind::kFloat) return v.real;
  if (v.kind == ValueKind::kTensor && element_count(v.tensor.sizes) == 1) {
    return materialize(v.tensor).to(at::kDouble).item<double>();
  }
  return std::nullopt;
}

// The class of a plugin's scheduler, as PyTorch names its twin ("" for one LibTorch lacks).
std::string scheduler_class_of(const torch::optim::LRScheduler& scheduler) {
  if (dynamic_cast<const torch::optim::StepLR*>(&scheduler)) return "StepLR";
  return "";
}

// Where the model's scheduler and the one saved under its name differ in kind: another class
// or another optimizer resumes on another learning-rate curve.
std::string scheduler_disagreement(const Scheduler& model, const std::vector<SchedulerCheck>& saved) {
  for (const auto& s : saved) {
    if (s.name != model.name) continue;
    const std::string cls = scheduler_class_of(*model.scheduler);
    if (!cls.empty() && !s.scheduler_class.empty() && s.scheduler_class != cls) {
      return "scheduler '" + model.name + "' was saved by a " + s.scheduler_class + ", the model's is a " + cls +
             ": its state does not load into it, and training resumes on another learning-rate curve";
    }
    if (!s.optimizer.empty() && s.optimizer != model.optimizer) {
      return "scheduler '" + model.name + "' stepped " + s.optimizer + " when saved, the model's steps " + model.optimizer;
    }
  }
  return "";
}
}  // namespace

CaseResult run_epoch_resume(UnitContext& ctx, const std::string&) {
  ctx.require_every_module_held();
  const ScenarioSettings& s = ctx.settings();
  const CheckpointLayout& layout = ctx.layout();
  const std::string& epoch_from = ctx.request().locator.epoch_from;
  std::int64_t epoch = 0;
  nlohmann::json data{{"convention", s.epoch_convention}};
  if (!epoch_from.empty()) {  // the file name says it: "<epoch>_net_G.pth"
    const std::string name = std::filesystem::path(ctx.request().checkpoint).filename().string();
    const std::optional<std::int64_t> found = epoch_from_name(epoch_from, name);
    if (!found) throw SkipCase("the file name '" + name + "' holds no epoch by epoch_from '" + epoch_from + "'");
    epoch = *found;
    data["epoch_from"] = epoch_from;
  } else {
    if (layout.epoch.empty()) {
      throw SkipCase("the layout '" + layout.name + "' records no epoch (epoch_from finds one in a file name)");
    }
    const Value* epoch_value = resolve_path(ctx.checkpoint(), layout.epoch);
    const std::string where = format_path(layout.epoch);
    data["epoch_path"] = where;
    if (!epoch_value) return make_case(Outcome::kFail, "no epoch at " + where, "the checkpoint cannot say where to resume", data);
    if (epoch_value->kind != ValueKind::kInt) {
      return make_case(Outcome::kFail, "epoch at " + where + " is a " + to_string(epoch_value->kind) + ", not an int", "", data);
    }
    epoch = epoch_value->integer;
  }
  data["epoch"] = epoch;
  std::vector<std::string> problems, facts;
  if (epoch < s.first_epoch || epoch > 10'000'000) {
    problems.push_back("epoch " + std::to_string(epoch) + " is out of range (first epoch " + std::to_string(s.first_epoch) + ")");
  }
  const std::int64_t resume = s.epoch_convention == "next" ? epoch : epoch + 1;
  const std::int64_t completed = resume - s.first_epoch;
  data["resume_epoch"] = resume;
  facts.push_back("resumes at epoch " + std::to_string(resume) + " (saved " + std::to_string(epoch) + ", " +
                  s.epoch_convention + ")");
  nlohmann::json steps = nlohmann::json::object();
  for (const auto& o : ctx.compatibility().optimizers) {
    if (!o.saved) continue;
    const auto n = saved_step_count(*o.saved);
    if (!n) continue;
    steps[o.comparison.optimizer] = *n;
    facts.push_back(o.comparison.optimizer + " has taken " + std::to_string(*n) + " step(s)");
    if (s.steps_per_epoch > 0 && *n != completed * s.steps_per_epoch) {
      problems.push_back(o.comparison.optimizer + " has taken " + std::to_string(*n) + " step(s); " +
                         std::to_string(completed) + " completed epoch(s) x " + std::to_string(s.steps_per_epoch) +
                         " steps per epoch = " + std::to_string(completed * s.steps_per_epoch));
    }
  }
  data["optimizer_steps"] = steps;
  const Value& root = ctx.checkpoint().root();
  const LoadedModel described = ctx.build();
  for (const auto& scheduler : described.model().schedulers) {
    if (std::string problem = scheduler_disagreement(scheduler, ctx.compatibility().schedulers); !problem.empty()) {
      problems.push_back(problem);
    }
    const Value* saved = member_of(root, scheduler.name);
    const Value* last = saved ? member_of(*saved, "last_epoch") : nullptr;
    if (!last || last->kind != ValueKind::kInt) {
      facts.push_back("no saved state for scheduler '" + scheduler.name + "'");
      continue;
    }
    facts.push_back(scheduler.name + ".last_epoch = " + std::to_string(last->integer));
    if (last->integer != completed) {
      problems.push_back("scheduler '" + scheduler.name + "' has last_epoch " + std::to_string(last->integer) +
                         ", but " + std::to_string(completed) + " epoch(s) were completed");
    }
  }
  for (const auto& saved : ctx.compatibility().schedulers) {
    facts.push_back(saved.name + " (" + (saved.scheduler_class.empty() ? "LR scheduler" : saved.scheduler_class) + ")" +
                    (saved.optimizer.empty() ? "" : " steps " + saved.optimizer) +
                    (saved.last_epoch ? ", last_epoch " + std::to_string(*saved.last_epoch) : ""));
    problems.insert(problems.end(), saved.problems.begin(), saved.problems.end());
  }
  // The rest of the training state a resume restores (GradScaler, RNG states), as found.
  if (const auto* members = members_of(root)) {
    for (const DictEntry& entry : *members) {
      if (entry.key->kind != ValueKind::kStr || is_scheduler_state(*entry.value)) continue;
      if (std::string what = describe_training_state(*entry.value); !what.empty()) {
        facts.push_back(entry.key->text + ": " + what);
        continue;
      }
      const auto* inner = entry.value->kind == ValueKind::kDict ? members_of(*entry.value) : nullptr;
      for (std::size_t i = 0; inner && i < inner->size(); ++i) {
        const DictEntry& e = (*inner)[i];
        std::string what = e.key->kind == ValueKind::kStr ? describe_training_state(*e.value) : "";
        if (!what.empty() && !is_scheduler_state(*e.value)) facts.push_back(entry.key->text + "." + e.key->text + ": " + what);
      }
    }
  }
  if (const auto* members = members_of(root)) {
    for (const DictEntry& entry : *members) {
      if (entry.key->kind != ValueKind::kStr || entry.key->text.rfind("loss", 0) != 0) continue;
      const std::string& key = entry.key->text;
      const auto v = scalar_of(*entry.value);
      if (!v) continue;
      facts.push_back(key + " = " + number_text(*v));
      if (!std::isfinite(*v)) problems.push_back(key + " is " + number_text(*v) + ": training had diverged");
    }
  }
  data["problems"] = problems;
  const std::string details = bullet_list("problems", problems) + bullet_list("found", facts);
  if (!problems.empty()) return make_case(Outcome::kFail, problems.front(), details, data);
  return make_case(Outcome::kPass, facts.front(), details, data);
}

namespace {
// Every parameter, buffer and optimizer state tensor of a model, by qualified name.
std::map<std::string, at::Tensor> training_state(const LoadedModel& model) {
  std::map<std::string, at::Tensor> out;
  for (const auto& m : model.model().modules) {
    for (const auto& p : m.module->named_parameters()) out[m.name + "." + p.key()] = p.value();
    for (const auto& b : m.module->named_buffers()) out[m.name + "." + b.key()] = b.value();
  }
  for (const auto& o : model.model().optimizers) {
    for (auto& [k, t] : optimizer_state_tensors(o)) out[o.name + ": " + k] = t;
  }
  return out;
}

// Writes with `save` into an in-memory LibTorch archive and reads it back with `load`.
template <typename Save, typename Load>
void through_archive(Save&& save, Load&& load) {
  std::stringstream bytes;
  torch::serialize::OutputArchive out;
  save(out);
  out.save_to(bytes);
  torch::serialize::InputArchive in;
  in.load_from(bytes);
  load(in);
}

// Saves every module and optimizer through LibTorch archives and loads them into `into`.
void save_and_load(const LoadedModel& from, LoadedModel& into) {
  for (std::size_t i = 0; i < from.model().modules.size(); ++i) {
    through_archive([&](auto& out) { from.model().modules[i].module->save(out); },
                    [&](auto& in) { into.model().modules.at(i).module->load(in); });
  }
  for (std::size_t i = 0; i < from.model().optimizers.size(); ++i) {
    torch::optim::Optimizer& target = *into.model().optimizers.at(i).optimizer;
    through_archive([&](auto& out) { from.model().optimizers[i].optimizer->save(out); },
                    [&](auto& in) { target.load(in); });
    // LibTorch 1.13's Optimizer::load restores the state but not the groups' saved
    // hyper-parameters (lr, betas, ...): copy them, as a resume must.
    const auto& groups = from.model().optimizers[i].optimizer->param_groups();
    for (std::size_t g = 0; g < groups.size() && g < target.param_groups().size(); ++g) {
      target.param_groups()[g].set_options(groups[g].options().clone());
    }
  }
}
}  // namespace

CaseResult run_resume_determinism(UnitContext& ctx, const std::string&) {
  ctx.require_every_module_held();
  ctx.require_values("resume-determinism");
  const ScenarioSettings& s = ctx.settings();
  for (const auto& m : ctx.compatibility().modules) ctx.require_strict(m.comparison.module);
  for (const auto& o : ctx.compatibility().optimizers) {
    if (!o.error.empty() || (o.comparison.present && !o.comparison.loadable())) {
      throw SkipCase("the saved state of '" + o.comparison.optimizer + "' does not load (see optimizer-state)");
    }
  }
  const Plugin& plugin = ctx.plugin();
  LoadedModel straight = ctx.make_resumed();
  for (std::int64_t step = 0; step < s.resume_steps; ++step) {
    if (!plugin.train_step(straight, step)) throw SkipCase("the plugin offers no training step");
  }
  LoadedModel first = ctx.make_resumed();
  for (std::int64_t step = 0; step < s.resume_split; ++step) plugin.train_step(first, step);
  LoadedModel resumed = ctx.build();
  save_and_load(first, resumed);
  for (auto& m : resumed.model().modules) m.module->train();
  for (std::int64_t step = s.resume_split; step < s.resume_steps; ++step) plugin.train_step(resumed, step);

  const auto a = training_state(straight);
  const auto b = training_state(resumed);
  std::vector<std::string> differences;
  double worst = 0;
  for (const auto& [key, t] : a) {
    auto it = b.find(key);
    if (it == b.end()) {
      differences.push_back(key + ": missing after the save and load");
      continue;
    }
    const at::Tensor& u = it->second;
    if (t.sizes() != u.sizes() || t.scalar_type() != u.scalar_type()) {
      differences.push_back(key + ": shape or dtype changed across the save and load");
      continue;
    }
    const bool same = s.resume_bitwise ? at::equal(t, u) : at::allclose(t.to(at::kDouble), u.to(at::kDouble), s.rtol, s.atol);
    if (!same) {
      const double diff = t.numel() == 0 ? 0 : (t.to(at::kDouble) - u.to(at::kDouble)).abs().max().item<double>();
      worst = std::max(worst, diff);
      differences.push_back(key + ": max abs difference " + number_text(diff));
    }
  }
  for (const auto& [key, u] : b) {
    if (!a.count(key)) differences.push_back(key + ": only after the save and load");
  }
  const std::string plan = std::to_string(s.resume_steps) + " steps straight vs " + std::to_string(s.resume_split) +
                           " steps, save, load, " + std::to_string(s.resume_steps - s.resume_split) + " steps";
  nlohmann::json data{{"steps", s.resume_steps}, {"split", s.resume_split}, {"bitwise", s.resume_bitwise},
                      {"tensors", a.size()},     {"differences", differences}, {"max_abs_difference", worst}};
  if (!differences.empty()) {
    return make_case(Outcome::kFail,
                     std::to_string(differences.size()) + " of " + std::to_string(a.size()) +
                         " tensors differ after resuming, first " + differences.front(),
                     plan + "\n" + bullet_list("differences", differences), data);
  }
  return make_case(Outcome::kPass,
                   plan + ": " + std::to_string(a.size()) + " tensors " +
                       (s.resume_bitwise ? "bitwise equal" : "equal within tolerance"),
                   "", data);
}

}  // namespace ckpt
