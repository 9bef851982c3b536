#include "engine/saved_schedulers.hpp"

#include "reader/training_state.hpp"
#include "text/counted.hpp"

namespace ckpt {

namespace {
std::optional<std::vector<double>> numbers(const Value* list) {
  if (!list || list->kind != ValueKind::kList) return std::nullopt;
  std::vector<double> out;
  for (const Value* item : list->items) {
    if (item->kind != ValueKind::kInt && item->kind != ValueKind::kFloat) return std::nullopt;  // tensors (capturable lr)
    out.push_back(number_of(*item));
  }
  return out;
}

std::optional<std::int64_t> integer(const Value* v) {
  if (!v || v->kind != ValueKind::kInt || v->big_integer) return std::nullopt;
  return v->integer;
}

// A hyper-parameter of every group, when each group has it as a number.
std::optional<std::vector<double>> per_group(const SavedOptimizerState& state, const std::string& key) {
  std::vector<double> out;
  for (const auto& group : state.groups) {
    const auto hyper = saved_hyper(group);
    const auto it = hyper.find(key);
    if (it == hyper.end()) return std::nullopt;
    out.push_back(it->second);
  }
  return out;
}

bool same(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (hyper_values_differ(a[i], b[i])) return false;
  }
  return true;
}

std::string list_text(const std::vector<double>& values) {
  return "[" + comma_list(values, format_hyper_value) + "]";
}

// "generator_scheduler" -> "generator_optimizer", "sched_d" -> "optim_d" / "opt_d", ...
std::vector<std::string> optimizer_names_for(const std::string& scheduler) {
  std::vector<std::string> out;
  for (const auto& [from, tos] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"lr_scheduler", {"optimizer"}}, {"scheduler", {"optimizer", "optim", "opt"}}, {"sched", {"optimizer", "optim", "opt"}}}) {
    const auto at = scheduler.find(from);
    if (at == std::string::npos) continue;
    for (const auto& to : tos) out.push_back(std::string(scheduler).replace(at, from.size(), to));
  }
  return out;
}

const SavedOptimizerRef* pair_with(SchedulerCheck& check, const Value& state, const std::vector<SavedOptimizerRef>& optimizers) {
  for (const auto& candidate : optimizer_names_for(check.name)) {
    for (const auto& o : optimizers) {
      if (o.name == candidate) return &o;
    }
  }
  const auto last = numbers(member_of(state, "_last_lr"));
  if (!last) return nullptr;
  const SavedOptimizerRef* found = nullptr;
  for (const auto& o : optimizers) {
    const auto lrs = per_group(*o.state, "lr");
    if (!lrs || !same(*lrs, *last)) continue;
    if (found) return nullptr;  // two optimizers at the same lrs: no telling which
    found = &o;
  }
  if (found) check.facts.push_back("paired with " + found->name + " by its learning rates");
  return found;
}

void check_against(SchedulerCheck& check, const Value& state, const SavedOptimizerRef& optimizer) {
  const SavedOptimizerState& saved = *optimizer.state;
  const std::string groups = std::to_string(saved.groups.size()) + " parameter group(s)";
  const auto last = numbers(member_of(state, "_last_lr"));
  const auto lrs = per_group(saved, "lr");
  if (last && last->size() != saved.groups.size()) {
    check.problems.push_back(check.name + " holds " + std::to_string(last->size()) + " learning rate(s), " + optimizer.name +
                             " has " + groups + ": it was made for another optimizer");
    return;
  }
  if (last && lrs && !same(*last, *lrs)) {
    check.problems.push_back(check.name + " last set lr " + list_text(*last) + ", but " + optimizer.name + "'s groups have lr " +
                             list_text(*lrs) + ": the two were saved at different steps, and training resumes on another "
                             "learning-rate curve");
  }
  const auto initial = per_group(saved, "initial_lr");
  std::vector<const Value*> with_base{&state};
  if (const Value* nested = member_of(state, "_schedulers"); nested && nested->kind == ValueKind::kList) {
    with_base.assign(nested->items.begin(), nested->items.end());
  }
  for (const Value* s : with_base) {
    const auto base = numbers(member_of(*s, "base_lrs"));
    if (base && initial && !same(*base, *initial)) {
      check.problems.push_back(check.name + (s == &state ? "" : " (its " + scheduler_class(*s) + ")") + " starts from base_lrs " +
                               list_text(*base) + ", but " + optimizer.name + "'s groups have initial_lr " + list_text(*initial));
    }
  }
  // Stepped once per batch, after its optimizer: as many steps in as the optimizer.
  const bool per_batch = check.scheduler_class == "OneCycleLR" || check.scheduler_class == "CyclicLR";
  if (per_batch && optimizer.steps && check.last_epoch && *check.last_epoch != *optimizer.steps) {
    check.problems.push_back(check.scheduler_class + " steps once per batch: " + check.name + " has last_epoch " +
                             std::to_string(*check.last_epoch) + ", but " + optimizer.name + " has taken " +
                             std::to_string(*optimizer.steps) + " step(s)");
  }
}
}  // namespace

std::vector<SchedulerCheck> check_saved_schedulers(const Value& root, const std::vector<SavedOptimizerRef>& optimizers) {
  std::vector<SchedulerCheck> out;
  const auto* members = members_of(root);
  if (!members) return out;
  for (const DictEntry& entry : *members) {
    if (entry.key->kind != ValueKind::kStr || !is_scheduler_state(*entry.value)) continue;
    const Value& state = *entry.value;
    SchedulerCheck check;
    check.name = entry.key->text;
    check.scheduler_class = scheduler_class(state);
    check.last_epoch = integer(member_of(state, "last_epoch"));
    if (const Value* nested = member_of(state, "_schedulers"); nested && nested->kind == ValueKind::kList) {
      for (const Value* s : nested->items) check.nested.push_back(scheduler_class(*s).empty() ? "?" : scheduler_class(*s));
    }
    if (check.scheduler_class == "OneCycleLR" && check.last_epoch) {
      const auto total = integer(member_of(state, "total_steps"));
      if (total && *check.last_epoch >= *total) {
        // PyTorch raises at the next step: "Tried to step N times. The specified number of total steps is T".
        check.problems.push_back("OneCycleLR has taken " + std::to_string(*check.last_epoch) + " of its " + std::to_string(*total) +
                                 " total steps: the next step raises \"Tried to step " + std::to_string(*check.last_epoch + 1) +
                                 " times. The specified number of total steps is " + std::to_string(*total) + "\"");
      }
    }
    if (const SavedOptimizerRef* optimizer = pair_with(check, state, optimizers)) {
      check.optimizer = optimizer->name;
      check_against(check, state, *optimizer);
    } else {
      check.facts.push_back("no saved optimizer state it steps was found (by name or by its learning rates)");
    }
    out.push_back(std::move(check));
  }
  return out;
}

}  // namespace ckpt
