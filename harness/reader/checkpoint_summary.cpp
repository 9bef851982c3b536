#include "reader/checkpoint_summary.hpp"
#include "text/counted.hpp"

#include <set>
#include <unordered_set>
#include <vector>

namespace ckpt {

CheckpointSummary summarize(const Value& root) {
  CheckpointSummary s;
  std::unordered_set<const Value*> seen;
  std::vector<const Value*> todo{&root};
  while (!todo.empty()) {  // iterative: the tree was depth-checked, but stay cheap and flat
    const Value* v = todo.back();
    todo.pop_back();
    if (!seen.insert(v).second) continue;
    if (v->kind == ValueKind::kTensor || v->kind == ValueKind::kStorage) {
      if (v->kind == ValueKind::kTensor) {
        ++s.tensors;
        s.elements += v->tensor.numel();
        if (v->tensor.is_parameter) s.parameter_elements += v->tensor.numel();
      }
      // A sparse tensor's data lies in its parts, a per-channel quantized one's scales in theirs.
      std::vector<const TensorRef*> holders{&v->tensor};
      for (const auto& part : v->tensor.parts) holders.push_back(&part);
      if (const auto& q = v->tensor.quantization; q && q->per_channel()) {
        holders.push_back(q->scales.get());
        holders.push_back(q->zero_points.get());
      }
      if (v->tensor.chunks) {  // a DCP tensor: its chunks make one storage when it is loaded
        ++s.storages;
        s.storage_bytes += v->tensor.nbytes();
      }
      for (const TensorRef* holder : holders) {
        const StorageRef* st = holder->storage.get();
        if (st && s.tensors_per_storage[st]++ == 0) {
          ++s.storages;
          s.storage_bytes += st->nbytes;
        }
      }
    }
    for (const auto& c : children_of(*v)) todo.push_back(c.value);
  }
  return s;
}

bool summarize_optimizer(const Value& v, OptimizerSummary& out) {
  const Value* state = v.find("state");
  const Value* groups = v.find("param_groups");
  if (!state || !groups || state->kind != ValueKind::kDict || groups->kind != ValueKind::kList) return false;
  out = {};
  out.groups = groups->items.size();
  for (const Value* g : groups->items) {
    const Value* params = g->find("params");
    if (!params || params->kind != ValueKind::kList) return false;
    out.params += params->items.size();
  }
  out.params_with_state = state->entries.size();
  std::set<std::string> keys;
  for (const auto& e : state->entries) {
    for (const auto& k : e.value->entries) {
      if (k.key->kind == ValueKind::kStr) keys.insert(k.key->text);
    }
  }
  out.state_keys = comma_list(keys);
  const Value* first = groups->items.empty() ? nullptr : groups->items[0];
  auto group_has = [&](const char* key) { return first && first->find(key); };
  if (keys.count("exp_avg") && keys.count("exp_avg_sq")) {
    out.likely_class = keys.count("max_exp_avg_sq") ? "Adam or AdamW (amsgrad)" : "Adam or AdamW";
  } else if (keys.count("square_avg")) {
    out.likely_class = "RMSprop";
  } else if (keys.count("momentum_buffer") || (keys.empty() && group_has("nesterov"))) {
    out.likely_class = "SGD";
  } else if (keys.count("sum")) {
    out.likely_class = "Adagrad";
  }
  return true;
}

}  // namespace ckpt
