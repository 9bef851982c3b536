#include "engine/apply.hpp"

#include <torch/csrc/autograd/grad_mode.h>

#include <ATen/ops/zeros.h>
#include <algorithm>
#include <map>
#include <set>

#include "engine/torch_schema.hpp"
#include "text/counted.hpp"
#include "tensor/materialize.hpp"

namespace ckpt {

double LoadReport::fraction_by_tensors() const {
  return tensors_total == 0 ? 1.0 : static_cast<double>(tensors_loaded) / static_cast<double>(tensors_total);
}
double LoadReport::fraction_by_elements() const {
  return elements_total == 0 ? 1.0 : static_cast<double>(elements_loaded) / static_cast<double>(elements_total);
}

namespace {
std::map<std::string, at::Tensor> slots_of(torch::nn::Module& module) {
  std::map<std::string, at::Tensor> slots;
  for (auto& p : module.named_parameters()) slots[p.key()] = p.value();
  for (auto& b : module.named_buffers()) slots[b.key()] = b.value();
  return slots;
}

bool policy_allows(DTypePolicy policy, DType from, DType to) {
  if (from == to || policy == DTypePolicy::kCastLikePyTorch) return true;
  return policy == DTypePolicy::kCastFloating && dtype_is_floating(from) && dtype_is_floating(to);
}

// A schema-only model (plugins/manifest: tensors on the meta device, shapes and dtypes
// without values) takes no values: for it the comparison is the whole load.
void copy_into(at::Tensor& target, const TensorRef& ref) {
  if (!target.is_meta()) copy_released(ref, target);
}

// "torch::nn::BatchNorm2dImpl" -> "BatchNorm2d"; a plugin's own "GeneratorImpl" -> "Generator".
std::string layer_class(const torch::nn::Module& layer) {
  std::string name = layer.name();
  if (const auto colon = name.rfind("::"); colon != std::string::npos) name = name.substr(colon + 2);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, "Impl") == 0) name.resize(name.size() - 4);
  return name;
}

bool is_norm(const std::string& cls) { return cls.find("Norm") != std::string::npos; }

// Which layers kept their initial values, and where the checkpoint's normalisation is of
// another kind than the model's: what a fraction of elements hides (a norm layer is a few
// hundred elements of millions, but at its initial statistics it changes every output).
void describe_layers(torch::nn::Module& module, const std::set<std::string>& loaded, const StateDict& state,
                     LoadReport& report) {
  std::set<std::string> saved, weight_loaded;  // weight_loaded: layers whose weight loaded
  for (const auto& e : state.entries) saved.insert(e.key);
  auto saved_under = [&saved](const std::string& dotted) {
    const auto it = saved.lower_bound(dotted);
    return it != saved.end() && it->compare(0, dotted.size(), dotted) == 0;
  };
  // "main.3" -> "main.2": the layer before it in its Sequential, or "" when there is none.
  auto previous_sibling = [](const std::string& prefix) -> std::string {
    const auto dot = prefix.rfind('.');
    const std::string last = prefix.substr(dot == std::string::npos ? 0 : dot + 1);
    if (last.empty() || last.size() > 9 || last.find_first_not_of("0123456789") != std::string::npos || last == "0") return "";
    return prefix.substr(0, dot == std::string::npos ? 0 : dot + 1) + std::to_string(std::stoi(last) - 1);
  };
  for (const auto& item : module.named_modules("", /*include_self=*/true)) {
    const std::string& prefix = item.key();
    const torch::nn::Module& layer = *item.value();
    const std::string dotted = prefix.empty() ? "" : prefix + ".";
    std::vector<std::string> own, stayed;
    for (const auto& p : layer.named_parameters(/*recurse=*/false)) own.push_back(p.key());
    for (const auto& b : layer.named_buffers(/*recurse=*/false)) own.push_back(b.key());
    for (const auto& local : own) {
      if (!loaded.count(dotted + local)) stayed.push_back(local);
    }
    if (loaded.count(dotted + "weight")) weight_loaded.insert(prefix);
    const std::string cls = layer_class(layer);
    const std::string shown = (prefix.empty() ? std::string("the module itself") : prefix) + " (" + cls + ")";
    if (!own.empty() && stayed.size() == own.size()) {
      report.layers_left_at_initialisation.push_back(shown);
    } else if (!stayed.empty() && is_norm(cls)) {
      report.layers_left_at_initialisation.push_back(shown + ": " + comma_list(stayed));
    }
    // Only right after a layer whose weight loaded (the conv a norm layer follows; its bias
    // comes and goes with the norm): in a checkpoint of another architecture a missing norm
    // layer is not a norm change.
    const std::string before = prefix.empty() ? "" : previous_sibling(prefix);
    if (before.empty() || !weight_loaded.count(before)) continue;
    if (cls.rfind("BatchNorm", 0) == 0 && !own.empty() && !saved_under(dotted)) {
      report.norm_changes.push_back(prefix + ": a " + cls + " in the model, but the checkpoint holds no state for it: "
                                    "it was saved by a normalisation without state (an InstanceNorm without affine, "
                                    "as pytorch-CycleGAN-and-pix2pix's norm='instance'): batch norm <-> instance norm");
    } else if (cls.rfind("BatchNorm", 0) != 0 && saved.count(dotted + "running_mean") && saved.count(dotted + "running_var") &&
               std::find(own.begin(), own.end(), "running_mean") == own.end()) {
      report.norm_changes.push_back(prefix + ": the checkpoint holds batch-norm running statistics there, the model's " +
                                    cls + " keeps none: batch norm <-> " +
                                    (cls.rfind("InstanceNorm", 0) == 0 ? "instance norm" : cls));
    }
  }
}

LoadReport load(torch::nn::Module& module, const ModuleComparison& comparison, const StateDict& state, bool strict,
                DTypePolicy policy) {
  LoadReport report;
  report.module = comparison.module;
  report.strict = strict;
  std::map<std::string, at::Tensor> slots = slots_of(module);
  report.tensors_total = slots.size();
  for (const auto& [key, t] : slots) report.elements_total += static_cast<std::uint64_t>(t.numel());
  std::set<std::string> mismatched;
  for (const auto& m : comparison.shape_mismatches) {
    mismatched.insert(m.key);
    report.skipped.push_back(m.key + ": shape " + format_torch_size(m.checkpoint) + " does not fit " +
                             format_torch_size(m.model));
  }
  for (const auto& n : comparison.non_tensors) {
    mismatched.insert(n.key);
    report.skipped.push_back(n.key + ": not a tensor (" + n.found + ")");
  }
  for (const auto& u : comparison.uncopyable) {
    mismatched.insert(u.key);
    report.skipped.push_back(u.key + ": a " + u.kind + " tensor, which copy_ refuses (" + u.reason + ")");
  }
  if (strict && !comparison.strictly_loadable()) {
    for (const auto& [key, t] : slots) report.left_at_initialisation.push_back(key);
    return report;  // all or nothing: the module stays as it was
  }
  torch::NoGradGuard no_grad;
  std::set<std::string> loaded;
  for (const auto& entry : state.entries) {
    auto slot = slots.find(entry.key);
    if (slot == slots.end() || mismatched.count(entry.key)) continue;
    const TensorRef& ref = entry.value->tensor;
    const DType model_dtype = dtype_of(slot->second.scalar_type());
    if (!strict && !policy_allows(policy, ref.dtype, model_dtype)) {
      report.skipped.push_back(entry.key + ": dtype " + std::string(dtype_name(ref.dtype)) + " not cast to " +
                               std::string(dtype_name(model_dtype)) + " under the dtype policy");
      continue;
    }
    copy_into(slot->second, ref);
    if (ref.dtype != model_dtype) report.cast.push_back(entry.key);
    loaded.insert(entry.key);
  }
  for (const auto& key : comparison.migrated) {
    auto slot = slots.find(key);
    if (slot == slots.end()) continue;
    slot->second.zero_();
    loaded.insert(key);
  }
  for (const auto& [key, t] : slots) {
    if (loaded.count(key)) {
      ++report.tensors_loaded;
      report.elements_loaded += static_cast<std::uint64_t>(t.numel());
    } else {
      report.left_at_initialisation.push_back(key);
    }
  }
  report.applied = strict ? true : !loaded.empty();
  if (!strict) describe_layers(module, loaded, state, report);
  return report;
}
}  // namespace

LoadReport load_strict(torch::nn::Module& module, const ModuleComparison& comparison, const StateDict& state) {
  return load(module, comparison, state, true, DTypePolicy::kCastLikePyTorch);
}

LoadReport load_relaxed(torch::nn::Module& module, const ModuleComparison& comparison, const StateDict& state,
                        DTypePolicy policy) {
  return load(module, comparison, state, false, policy);
}

}  // namespace ckpt
