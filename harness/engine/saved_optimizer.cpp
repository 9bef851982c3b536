#include "engine/saved_optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <stdexcept>

namespace ckpt {

namespace {
std::map<std::string, const Value*> string_members(const Value& v) {
  std::map<std::string, const Value*> out;
  if (const auto* m = members_of(v)) {
    for (const auto& e : *m) {
      if (e.key->kind == ValueKind::kStr) out[e.key->text] = e.value;
    }
  }
  return out;
}

// A 'state' key: a parameter index; the same as a decimal string (torch.distributed.checkpoint
// saves every key as a string); or a parameter name of get_state_dict's.
std::size_t state_position(const Value& key, const std::map<std::string, std::size_t>& by_name) {
  if (key.kind == ValueKind::kInt && !key.big_integer && key.integer >= 0) return static_cast<std::size_t>(key.integer);
  if (key.kind == ValueKind::kStr) {
    if (auto named = by_name.find(key.text); named != by_name.end()) return named->second;
    const bool digits = !key.text.empty() && key.text.size() < 10 &&
                        std::all_of(key.text.begin(), key.text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits && by_name.empty()) return static_cast<std::size_t>(std::stoul(key.text));
    if (!by_name.empty()) throw std::invalid_argument("'state' names parameter '" + key.text + "', which no param group lists");
  }
  throw std::invalid_argument("a 'state' key is not a parameter index or name");
}

SavedOptimizerState read_python(const Value& saved) {
  SavedOptimizerState out;
  out.format = "python";
  std::map<std::string, std::size_t> by_name;
  bool saw_index = false;
  const Value* groups = saved.find("param_groups");
  const Value* state = saved.find("state");
  if (!groups || groups->kind != ValueKind::kList) throw std::invalid_argument("'param_groups' is not a list");
  if (!state || state->kind != ValueKind::kDict) throw std::invalid_argument("'state' is not a dict");
  for (std::size_t g = 0; g < groups->items.size(); ++g) {
    const Value& group = *groups->items[g];
    if (group.kind != ValueKind::kDict) throw std::invalid_argument("param_groups[" + std::to_string(g) + "] is not a dict");
    SavedOptimizerState::Group parsed;
    for (const auto& e : group.entries) {
      if (e.key->kind != ValueKind::kStr) continue;
      if (e.key->text != "params") {
        parsed.hyper[e.key->text] = e.value;
        continue;
      }
      if (e.value->kind != ValueKind::kList) throw std::invalid_argument("param_groups[" + std::to_string(g) + "]['params'] is not a list");
      for (const Value* p : e.value->items) {
        if (p->kind == ValueKind::kStr) {  // get_state_dict's parameter names: positions in order
          if (!by_name.emplace(p->text, out.parameter_names.size()).second) {
            throw std::invalid_argument("parameter '" + p->text + "' is in param_groups twice");
          }
          parsed.positions.push_back(out.parameter_names.size());
          out.parameter_names.push_back(p->text);
          continue;
        }
        if (p->kind != ValueKind::kInt || p->integer < 0) {
          throw std::invalid_argument("a parameter in param_groups is neither a non-negative index nor a name");
        }
        saw_index = true;
        parsed.positions.push_back(static_cast<std::size_t>(p->integer));
      }
    }
    out.groups.push_back(std::move(parsed));
  }
  if (!out.parameter_names.empty() && saw_index) {
    throw std::invalid_argument("param_groups mix parameter names and indices");
  }
  for (const auto& e : state->entries) {
    out.state[state_position(*e.key, by_name)] = string_members(*e.value);
  }
  return out;
}

// torch::save(optimizer): state.<address> objects; param_groups/<i> objects listing
// params/<j> addresses and an `options` object.
SavedOptimizerState read_libtorch(const Value& saved) {
  SavedOptimizerState out;
  out.format = "libtorch";
  const Value* groups = member_of(saved, "param_groups");
  const Value* state = member_of(saved, "state");
  if (!groups || !state) throw std::invalid_argument("LibTorch optimizer archive without 'param_groups' or 'state'");
  std::map<std::string, std::size_t> position_of;
  for (std::size_t g = 0;; ++g) {
    const Value* group = member_of(*groups, "param_groups/" + std::to_string(g));
    if (!group) break;
    SavedOptimizerState::Group parsed;
    for (std::size_t i = 0;; ++i) {
      const Value* address = member_of(*group, "params/" + std::to_string(i));
      if (!address) break;
      if (address->kind != ValueKind::kStr) throw std::invalid_argument("a LibTorch param id is not a string");
      position_of[address->text] = position_of.size();
      parsed.positions.push_back(position_of[address->text]);
    }
    if (const Value* options = member_of(*group, "options")) parsed.hyper = string_members(*options);
    out.groups.push_back(std::move(parsed));
  }
  for (const auto& [address, value] : string_members(*state)) {
    auto it = position_of.find(address);
    if (it == position_of.end()) throw std::invalid_argument("state for parameter " + address + " that no group lists");
    out.state[it->second] = string_members(*value);
  }
  return out;
}
}  // namespace

SavedOptimizerState read_saved_optimizer(const Value& saved) {
  if (saved.kind == ValueKind::kDict && saved.find("param_groups")) return read_python(saved);
  if (saved.kind == ValueKind::kObject && member_of(saved, "param_groups")) return read_libtorch(saved);
  throw std::invalid_argument(std::string("expected an optimizer state dict ({'state', 'param_groups'}), found a ") +
                              to_string(saved.kind));
}

namespace {
// Adam and AdamW keep the same state; PyTorch >= 2.7 saves which one in each group's
// decoupled_weight_decay (AdamW's is always True).
std::string adam_or_adamw(const SavedOptimizerState& saved) {
  if (!saved.groups.empty()) {
    const auto it = saved.groups.front().hyper.find("decoupled_weight_decay");
    if (it != saved.groups.front().hyper.end() && it->second->kind == ValueKind::kBool) return it->second->boolean ? "AdamW" : "Adam";
  }
  return "Adam or AdamW";
}
}  // namespace

std::string implied_optimizer_class(const SavedOptimizerState& saved) {
  std::set<std::string> keys;
  for (const auto& [position, state] : saved.state) {
    for (const auto& [key, v] : state) keys.insert(key);
  }
  if (keys.count("exp_avg") && keys.count("exp_avg_sq")) return adam_or_adamw(saved);
  if (keys.count("square_avg")) return "RMSprop";
  if (keys.count("sum")) return "Adagrad";
  if (keys.count("momentum_buffer")) return "SGD";
  if (saved.groups.empty()) return "";
  const auto& hyper = saved.groups.front().hyper;
  if (hyper.count("betas")) return adam_or_adamw(saved);
  if (hyper.count("centered") || hyper.count("alpha")) return "RMSprop";
  if (hyper.count("lr_decay")) return "Adagrad";
  if (hyper.count("nesterov") || hyper.count("dampening")) return "SGD";
  return "";
}

bool optimizer_classes_agree(const std::string& saved, const std::string& model) {
  if (saved.empty() || saved == model) return true;
  return saved == "Adam or AdamW" && (model == "Adam" || model == "AdamW");
}

std::map<std::string, double> saved_hyper(const SavedOptimizerState::Group& group) {
  std::map<std::string, double> out;
  const auto is_number = [](const Value& v) {
    return v.kind == ValueKind::kFloat || v.kind == ValueKind::kInt || v.kind == ValueKind::kBool;
  };
  for (const auto& [key, v] : group.hyper) {
    if (key == "betas" && (v->kind == ValueKind::kTuple || v->kind == ValueKind::kList) && v->items.size() == 2 &&
        is_number(*v->items[0]) && is_number(*v->items[1])) {
      out["beta1"] = number_of(*v->items[0]);
      out["beta2"] = number_of(*v->items[1]);
    } else if (is_number(*v)) {
      out[key] = number_of(*v);
    }
  }
  return out;
}

std::vector<std::string> explain_training_flags(const SavedOptimizerState& saved) {
  static const std::pair<const char*, const char*> kNotes[] = {
      {"foreach", "the step ran over lists of tensors at once; the C++ optimizer takes the same step one tensor at a "
                  "time (the same update)"},
      {"fused", "the step ran as one fused kernel (CUDA, or CPU from PyTorch 2.4); the C++ optimizer takes the same "
                "step unfused (the same update, rounded otherwise)"},
      {"capturable", "the state's 'step' stayed on the device for CUDA graphs; here it loads as any state tensor"},
      {"differentiable", "autograd recorded the step (meta-learning); the C++ optimizer's step is not differentiable"},
      {"maximize", "training ascended its objective; LibTorch's C++ optimizers always descend, so a resume in C++ "
                   "flips the sign of every update (Python's keeps maximize)"},
  };
  std::vector<std::string> out;
  for (std::size_t g = 0; g < saved.groups.size(); ++g) {
    const auto& hyper = saved.groups[g].hyper;
    auto set = [&hyper](const char* flag) {
      const auto it = hyper.find(flag);
      return it != hyper.end() && it->second->kind == ValueKind::kBool && it->second->boolean;
    };
    const std::string group = "group " + std::to_string(g) + " ";
    for (const auto& [flag, what] : kNotes) {
      if (set(flag)) out.push_back(group + flag + "=True: " + what);
    }
  }
  return out;
}

bool hyper_values_differ(double a, double b) { return std::fabs(a - b) > 1e-12 * std::max(1.0, std::fabs(b)); }

std::string format_hyper_value(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", value);
  return buf;
}

double number_of(const Value& v) {
  if (v.kind == ValueKind::kFloat) return v.real;
  if (v.kind == ValueKind::kInt) return static_cast<double>(v.integer);
  if (v.kind == ValueKind::kBool) return v.boolean ? 1 : 0;
  throw std::invalid_argument(std::string("expected a number, found a ") + to_string(v.kind));
}

}  // namespace ckpt
