#include "reader/training_state.hpp"
#include "text/counted.hpp"

#include <initializer_list>
#include <sstream>

namespace ckpt {

namespace {
bool has_all(const Value& dict, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (!member_of(dict, k)) return false;
  }
  return true;
}

std::string number_text(const Value& v) {
  std::ostringstream s;
  if (v.kind == ValueKind::kInt && !v.big_integer) s << v.integer;
  else if (v.kind == ValueKind::kFloat) s << v.real;
  else if (v.kind == ValueKind::kBool) s << (v.boolean ? "True" : "False");
  else return "?";
  return s.str();
}

std::string numbers_text(const Value& list) {
  std::string out = "[" + comma_list(list.items, [](const Value* item) { return number_text(*item); }, 4);
  if (list.items.size() > 4) out += " (" + std::to_string(list.items.size()) + ")";
  return out + "]";
}

// The scheduler class a state dict's own keys imply (torch.optim.lr_scheduler).
std::string implied_scheduler_class(const Value& d) {
  if (member_of(d, "_schedulers")) return member_of(d, "_milestones") ? "SequentialLR" : "ChainedScheduler";
  if (member_of(d, "patience") && member_of(d, "cooldown")) return "ReduceLROnPlateau";
  if (member_of(d, "total_steps")) return "OneCycleLR";
  if (member_of(d, "T_0")) return "CosineAnnealingWarmRestarts";
  if (member_of(d, "T_max")) return "CosineAnnealingLR";
  if (member_of(d, "step_size")) return "StepLR";
  if (member_of(d, "milestones")) return "MultiStepLR";
  if (member_of(d, "lr_lambdas")) return "LambdaLR or MultiplicativeLR";
  if (member_of(d, "total_iters") && member_of(d, "power")) return "PolynomialLR";
  if (member_of(d, "total_iters") && member_of(d, "start_factor")) return "LinearLR";
  if (member_of(d, "total_iters") && member_of(d, "factor")) return "ConstantLR";
  if (member_of(d, "max_lrs") || member_of(d, "base_momentums")) return "CyclicLR";
  if (member_of(d, "gamma")) return "ExponentialLR";
  return "";
}

bool is_int(const Value* v) { return v && v->kind == ValueKind::kInt; }

// SequentialLR and ChainedScheduler keep no base_lrs of their own: their schedulers do.
const Value* nested_schedulers(const Value& v) {
  const Value* nested = member_of(v, "_schedulers");
  if (!nested || nested->kind != ValueKind::kList || !(member_of(v, "last_epoch") || member_of(v, "_last_lr"))) return nullptr;
  return nested;
}
}  // namespace

std::string scheduler_class(const Value& state) { return state.kind == ValueKind::kDict ? implied_scheduler_class(state) : ""; }

bool is_scheduler_state(const Value& v) {
  if (v.kind != ValueKind::kDict) return false;
  return has_all(v, {"last_epoch", "base_lrs", "_step_count"}) || nested_schedulers(v) ||
         has_all(v, {"patience", "cooldown", "best", "mode"});
}

std::string describe_training_state(const Value& v) {
  if (v.kind == ValueKind::kDict) {
    if (has_all(v, {"last_epoch", "base_lrs", "_step_count"})) {
      const std::string cls = implied_scheduler_class(v);
      std::string s = "LR scheduler state" + (cls.empty() ? "" : " (" + cls + ")") + ": last_epoch=" +
                      number_text(*member_of(v, "last_epoch"));
      if (const Value* base = member_of(v, "base_lrs"); base->kind == ValueKind::kList) s += ", base_lrs=" + numbers_text(*base);
      if (const Value* nested = member_of(v, "_schedulers"); nested && nested->kind == ValueKind::kList) {
        s += ", " + std::to_string(nested->items.size()) + " nested scheduler(s)";
      }
      return s;
    }
    if (const Value* nested = nested_schedulers(v)) {
      std::string s = "LR scheduler state (" + implied_scheduler_class(v) + ")";
      if (const Value* epoch = member_of(v, "last_epoch")) s += ": last_epoch=" + number_text(*epoch);
      if (const Value* milestones = member_of(v, "_milestones"); milestones && milestones->kind == ValueKind::kList) {
        s += ", milestones=" + numbers_text(*milestones);
      }
      const std::string classes = comma_list(nested->items, [](const Value* child) {
        const std::string cls = scheduler_class(*child);
        return cls.empty() ? std::string("?") : cls;
      });
      return s + ", " + std::to_string(nested->items.size()) + " nested scheduler(s): " + classes;
    }
    // torch.optim.swa_utils.AveragedModel (an EMA or SWA copy of a model): the model's keys
    // under 'module.', and the count of averaged updates.
    if (const Value* count = member_of(v, "n_averaged"); count && count->kind == ValueKind::kTensor && v.entries.size() > 1) {
      std::size_t wrapped = 0;
      for (const auto& e : v.entries) {
        if (e.key->kind == ValueKind::kStr && e.key->text.rfind("module.", 0) == 0) ++wrapped;
      }
      if (wrapped + 1 == v.entries.size()) {
        return "averaged model (torch.optim.swa_utils.AveragedModel: EMA or SWA): n_averaged and " + std::to_string(wrapped) +
               " tensors under 'module.'";
      }
    }
    if (has_all(v, {"patience", "cooldown", "best", "mode"})) {
      return "LR scheduler state (ReduceLROnPlateau): best=" + number_text(*member_of(v, "best"));
    }
    if (has_all(v, {"scale", "growth_factor", "backoff_factor", "growth_interval"})) {
      return "GradScaler state: scale=" + number_text(*member_of(v, "scale")) +
             ", growth_factor=" + number_text(*member_of(v, "growth_factor")) +
             ", backoff_factor=" + number_text(*member_of(v, "backoff_factor")) +
             ", growth_interval=" + number_text(*member_of(v, "growth_interval"));
    }
    if (const Value* gen = member_of(v, "bit_generator"); gen && gen->kind == ValueKind::kStr && member_of(v, "state")) {
      return "numpy Generator state (" + gen->text + ")";
    }
    return "";
  }
  if (v.kind == ValueKind::kTensor && v.tensor.dtype == DType::kUInt8 && v.tensor.sizes.size() == 1 &&
      v.tensor.sizes[0] == 5056) {
    return "torch CPU generator state (Mersenne Twister, 5056 bytes)";
  }
  if (v.kind == ValueKind::kTuple && v.items.size() == 5 && v.items[0]->kind == ValueKind::kStr &&
      v.items[0]->text == "MT19937" && v.items[1]->kind == ValueKind::kNdarray) {
    return "numpy RNG state (MT19937)";
  }
  if (v.kind == ValueKind::kTuple && v.items.size() == 3 && is_int(v.items[0]) && v.items[0]->integer == 3 &&
      v.items[1]->kind == ValueKind::kTuple && v.items[1]->items.size() == 625) {
    return "Python random state (Mersenne Twister)";
  }
  return "";
}

}  // namespace ckpt
