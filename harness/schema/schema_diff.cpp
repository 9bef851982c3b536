#include "schema/schema_diff.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_map>

#include "text/edit_distance.hpp"
#include "engine/saved_optimizer.hpp"
#include "reader/tensor_ref.hpp"

namespace ckpt {

using nlohmann::json;

bool ModuleSchemaDiff::changed() const {
  return !added.empty() || !removed.empty() || !renamed.empty() || !reshaped.empty() || !retyped.empty() ||
         !kind_changes.empty() || !load.migrated.empty();
}

bool SchemaDiff::strictly_loadable() const {
  if (!modules_added.empty()) return false;
  for (const auto& m : modules) {
    if (!m.load.strictly_loadable()) return false;
  }
  for (const auto& o : optimizers) {
    if (!o.problems.empty()) return false;
  }
  return true;
}

bool SchemaDiff::changed() const {
  if (!modules_added.empty() || !modules_removed.empty() || !optimizers_added.empty() || !optimizers_removed.empty()) return true;
  return std::any_of(modules.begin(), modules.end(), [](const auto& m) { return m.changed(); }) ||
         std::any_of(optimizers.begin(), optimizers.end(), [](const auto& o) { return o.changed(); });
}

namespace {
// The old module as the state dict of a checkpoint it wrote: what compare_module reads
// (kind, dtype, shape, _metadata versions) without any file.
class SchemaStateDict {
 public:
  SchemaStateDict(const ModuleSchema& module, const ModuleVersions* versions) {
    state_.source = "a checkpoint of the old schema ['" + module.name + "']";
    for (const auto& slot : module.tensors) {
      Value* v = arena_.make(ValueKind::kTensor);
      v->tensor.dtype = slot.dtype;
      v->tensor.sizes = slot.shape;
      state_.entries.push_back({slot.key, slot.key, v});
    }
    if (versions && versions->known) {
      state_.has_metadata = true;
      state_.versions = versions->by_prefix;
    }
  }
  const StateDict& state() const { return state_; }

 private:
  ValueArena arena_;
  StateDict state_;
};

// Look-ups by name, built once: manifests from pull requests may list any number of keys.
class SchemaIndex {
 public:
  explicit SchemaIndex(const ModelSchema& schema) : schema_(schema) {
    for (const auto& m : schema.modules) {
      modules_.emplace(m.name, &m);
      auto& keys = keys_[m.name];
      for (const auto& t : m.tensors) {
        keys.emplace(t.key, &t);
        parameters_.emplace(m.name + "." + t.key, &t);
      }
    }
    for (const auto& o : schema.optimizers) optimizers_.emplace(o.name, &o);
  }
  const ModuleSchema* module(const std::string& name) const { return find(modules_, name); }
  const OptimizerSchema* optimizer(const std::string& name) const { return find(optimizers_, name); }
  const TensorSlot* tensor(const std::string& module, const std::string& key) const {
    const auto it = keys_.find(module);
    return it == keys_.end() ? nullptr : find(it->second, key);
  }
  // A qualified parameter ("generator.main.0.weight"), as optimizers name them.
  const TensorSlot* parameter(const std::string& qualified) const { return find(parameters_, qualified); }
  const ModuleVersions* versions(const std::string& module) const {
    const auto it = schema_.versions.find(module);
    return it == schema_.versions.end() ? nullptr : &it->second;
  }

 private:
  template <typename T>
  static const T* find(const std::unordered_map<std::string, const T*>& map, const std::string& key) {
    const auto it = map.find(key);
    return it == map.end() ? nullptr : it->second;
  }
  const ModelSchema& schema_;
  std::unordered_map<std::string, const ModuleSchema*> modules_;
  std::unordered_map<std::string, const OptimizerSchema*> optimizers_;
  std::unordered_map<std::string, std::unordered_map<std::string, const TensorSlot*>> keys_;
  std::unordered_map<std::string, const TensorSlot*> parameters_;
};

std::vector<std::string> name_parts(const std::string& key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', start)) {
    parts.push_back(key.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(key.substr(start));
  return parts;
}

// "main.1" of "main.1.weight"; "" for a key of the module itself.
std::string prefix_of(const std::string& key) {
  const auto dot = key.rfind('.');
  return dot == std::string::npos ? "" : key.substr(0, dot);
}

std::set<std::string> submodule_prefixes(const ModuleSchema& module) {
  std::set<std::string> prefixes;
  for (const auto& t : module.tensors) prefixes.insert(prefix_of(t.key));
  return prefixes;
}

// Bounds the work of matching renames over a whole diff, whatever the manifests hold.
struct RenameBudget {
  static constexpr std::size_t kMaxScoredPairs = 200'000;
  static constexpr std::size_t kMaxSpelledKey = 256;  // longer keys are compared by length only
  std::size_t scored = 0;
};

struct Candidate {
  const TensorSlot* slot;
  std::vector<std::string> parts;
};

// Likely renames among the removed and added keys of one module. Only keys of submodules
// that are gone (old side) or new (new side), with the same shape, dtype and last name part
// ("weight") can match; among candidates the pair sharing the most name parts, then the
// closest in spelling, wins, each key used once. Once the diff's scoring budget is spent, a
// group of look-alikes (a prefix renamed across a whole model) is paired in order, and says so.
std::vector<KeyRename> likely_renames(const ModuleSchema& old_module, const ModuleSchema& new_module,
                                      const SchemaIndex& old_index, const SchemaIndex& new_index,
                                      const std::vector<std::string>& removed, const std::vector<std::string>& added,
                                      RenameBudget& budget) {
  std::map<std::string, std::pair<std::vector<Candidate>, std::vector<Candidate>>> buckets;
  auto bucket_of = [](const TensorSlot& s, const std::vector<std::string>& parts) {
    return std::string(dtype_name(s.dtype)) + " " + format_shape(s.shape) + " " + parts.back();
  };
  // A submodule that is still there did not move: its lost bias is removed, not renamed
  // to the bias of a new norm layer beside it.
  const std::set<std::string> old_prefixes = submodule_prefixes(old_module), new_prefixes = submodule_prefixes(new_module);
  for (const auto& key : removed) {
    const TensorSlot* s = old_index.tensor(old_module.name, key);
    if (!s || new_prefixes.count(prefix_of(key))) continue;
    Candidate c{s, name_parts(key)};
    buckets[bucket_of(*s, c.parts)].first.push_back(std::move(c));
  }
  for (const auto& key : added) {
    const TensorSlot* s = new_index.tensor(new_module.name, key);
    if (!s || old_prefixes.count(prefix_of(key))) continue;
    Candidate c{s, name_parts(key)};
    buckets[bucket_of(*s, c.parts)].second.push_back(std::move(c));
  }
  std::vector<KeyRename> renames;
  for (const auto& [bucket, sides] : buckets) {
    const auto& [from, to] = sides;
    if (from.empty() || to.empty()) continue;
    if (budget.scored + from.size() * to.size() > RenameBudget::kMaxScoredPairs) {
      for (std::size_t i = 0; i < std::min(from.size(), to.size()); ++i) {
        renames.push_back({from[i].slot->key, to[i].slot->key, from[i].slot->dtype, from[i].slot->shape, true});
      }
      continue;
    }
    budget.scored += from.size() * to.size();
    struct Pair {
      std::size_t shared;
      std::size_t distance;
      std::size_t i, j;
    };
    std::vector<Pair> pairs;
    for (std::size_t i = 0; i < from.size(); ++i) {
      const std::set<std::string> a(from[i].parts.begin(), from[i].parts.end());
      for (std::size_t j = 0; j < to.size(); ++j) {
        std::size_t shared = 0;
        for (const auto& part : to[j].parts) shared += a.count(part);
        const std::string& x = from[i].slot->key;
        const std::string& y = to[j].slot->key;
        const bool spell = x.size() <= RenameBudget::kMaxSpelledKey && y.size() <= RenameBudget::kMaxSpelledKey;
        const std::size_t distance = spell ? edit_distance(x, y) : (x.size() > y.size() ? x.size() - y.size() : y.size() - x.size());
        pairs.push_back({shared, distance, i, j});
      }
    }
    std::stable_sort(pairs.begin(), pairs.end(), [](const Pair& x, const Pair& y) {
      return x.shared != y.shared ? x.shared > y.shared : x.distance < y.distance;
    });
    std::vector<bool> from_used(from.size()), to_used(to.size());
    for (const auto& p : pairs) {
      if (from_used[p.i] || to_used[p.j]) continue;
      from_used[p.i] = to_used[p.j] = true;
      renames.push_back({from[p.i].slot->key, to[p.j].slot->key, from[p.i].slot->dtype, from[p.i].slot->shape, false});
    }
  }
  // In the old module's order, as people read the key list.
  std::unordered_map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < old_module.tensors.size(); ++i) position.emplace(old_module.tensors[i].key, i);
  std::sort(renames.begin(), renames.end(), [&](const KeyRename& x, const KeyRename& y) { return position[x.from] < position[y.from]; });
  return renames;
}

ModuleSchemaDiff diff_module(const ModuleSchema& old_module, const ModuleSchema& new_module, const SchemaIndex& old_index,
                             const SchemaIndex& new_index, bool kinds_known, RenameBudget& budget) {
  ModuleSchemaDiff d;
  d.module = new_module.name;
  const SchemaStateDict old_state(old_module, old_index.versions(old_module.name));
  d.load = compare_module(new_module, old_state.state());
  d.load.module = new_module.name;
  d.renamed = likely_renames(old_module, new_module, old_index, new_index, d.load.unexpected, d.load.missing, budget);
  std::set<std::string> renamed_from, renamed_to;
  for (const auto& r : d.renamed) {
    renamed_from.insert(r.from);
    renamed_to.insert(r.to);
  }
  for (const auto& k : d.load.missing) {
    if (!renamed_to.count(k)) d.added.push_back(k);
  }
  for (const auto& k : d.load.unexpected) {
    if (!renamed_from.count(k)) d.removed.push_back(k);
  }
  d.reshaped = d.load.shape_mismatches;
  d.retyped = d.load.dtype_mismatches;
  if (kinds_known) {
    for (const auto& slot : new_module.tensors) {
      const TensorSlot* before = old_index.tensor(old_module.name, slot.key);
      if (before && before->is_buffer != slot.is_buffer) {
        d.kind_changes.push_back(slot.key + ": " + (before->is_buffer ? "buffer -> parameter" : "parameter -> buffer"));
      }
    }
  }
  return d;
}

OptimizerSchemaDiff diff_optimizer(const OptimizerSchema& before, const OptimizerSchema& after, const SchemaIndex& old_index,
                                   const SchemaIndex& new_index) {
  OptimizerSchemaDiff d;
  d.optimizer = after.name;
  const auto agree = [](const std::string& a, const std::string& b) {
    return optimizer_classes_agree(a, b) || optimizer_classes_agree(b, a);
  };
  if (!agree(before.class_name, after.class_name)) {
    d.problems.push_back("class: " + before.class_name + " -> " + after.class_name + " (the saved state is " +
                         before.class_name + "'s)");
  }
  if (before.groups.size() != after.groups.size()) {
    d.problems.push_back("parameter groups: " + std::to_string(before.groups.size()) + " -> " +
                         std::to_string(after.groups.size()) + " (loaded state dict has a different number of parameter groups)");
    return d;
  }
  for (std::size_t g = 0; g < after.groups.size(); ++g) {
    const auto& a = before.groups[g];
    const auto& b = after.groups[g];
    const std::string group = "group " + std::to_string(g);
    if (a.size != b.size) {
      d.problems.push_back(group + ": " + std::to_string(a.size) + " -> " + std::to_string(b.size) +
                           " parameters (the saved group does not match the size of the optimizer's group)");
      continue;
    }
    for (const auto& [key, value] : b.hyper) {
      auto it = a.hyper.find(key);
      if (it != a.hyper.end() && hyper_values_differ(it->second, value)) {
        d.changes.push_back(group + " " + key + ": " + format_hyper_value(it->second) + " -> " + format_hyper_value(value) +
                            " (resuming restores the saved " + format_hyper_value(it->second) + ")");
      }
    }
    if (a.parameters.empty() || b.parameters.empty()) continue;
    for (std::size_t i = 0; i < b.size; ++i) {
      const TensorSlot* was = old_index.parameter(a.parameters[i]);
      const TensorSlot* now = new_index.parameter(b.parameters[i]);
      if (was && now && was->shape != now->shape) {
        d.problems.push_back(group + " position " + std::to_string(i) + ": state saved for " + a.parameters[i] + " " +
                             format_shape(was->shape) + " would go to " + b.parameters[i] + " " + format_shape(now->shape));
      } else if (a.parameters[i] != b.parameters[i]) {
        d.changes.push_back(group + " position " + std::to_string(i) + ": " + a.parameters[i] + " -> " + b.parameters[i] +
                            " (its saved state goes to the new name)");
      }
    }
  }
  return d;
}

json shape_json(const std::vector<ShapeMismatch>& v) {
  json out = json::array();
  for (const auto& m : v) out.push_back({{"key", m.key}, {"old", m.checkpoint}, {"new", m.model}});
  return out;
}
}  // namespace

SchemaDiff diff_schemas(const ModelSchema& old_schema, const ModelSchema& new_schema) {
  SchemaDiff d;
  d.old_label = old_schema.label();
  d.new_label = new_schema.label();
  d.old_is_checkpoint = !old_schema.tensor_kinds_known && old_schema.name.empty();
  const bool kinds_known = old_schema.tensor_kinds_known && new_schema.tensor_kinds_known;
  const SchemaIndex old_index(old_schema), new_index(new_schema);
  RenameBudget budget;
  for (const auto& m : new_schema.modules) {
    const ModuleSchema* before = old_index.module(m.name);
    if (!before) {
      d.modules_added.push_back(m.name);
      continue;
    }
    d.modules.push_back(diff_module(*before, m, old_index, new_index, kinds_known, budget));
  }
  for (const auto& m : old_schema.modules) {
    if (!new_index.module(m.name)) d.modules_removed.push_back(m.name);
  }
  for (const auto& o : new_schema.optimizers) {
    const OptimizerSchema* before = old_index.optimizer(o.name);
    if (!before) {
      d.optimizers_added.push_back(o.name);
      continue;
    }
    d.optimizers.push_back(diff_optimizer(*before, o, old_index, new_index));
  }
  for (const auto& o : old_schema.optimizers) {
    if (!new_index.optimizer(o.name)) d.optimizers_removed.push_back(o.name);
  }
  return d;
}

namespace {
// Prints at most `max` lines of a list, then how many more there are.
class CappedLines {
 public:
  CappedLines(std::ostream& out, std::size_t max) : out_(out), max_(max) {}
  ~CappedLines() {
    if (hidden_ > 0) out_ << "  ... and " << hidden_ << " more (--json lists every one)\n";
  }
  std::ostream* next() {
    if (shown_ < max_) {
      ++shown_;
      return &out_;
    }
    ++hidden_;
    return nullptr;
  }

 private:
  std::ostream& out_;
  std::size_t max_;
  std::size_t shown_ = 0, hidden_ = 0;
};

void write_module_text(std::ostream& out, const ModuleSchemaDiff& m, std::size_t max_lines) {
  constexpr std::size_t kMaxLineBytes = 600;
  if (!m.changed()) {
    out << "module " << m.module << ": unchanged (" << m.load.model_tensors << " tensors)\n";
    return;
  }
  out << "module " << m.module << ":\n";
  {
    CappedLines lines(out, max_lines);
    for (const auto& r : m.renamed) {
      if (auto* o = lines.next()) {
        *o << "  renamed   " << r.from << " -> " << r.to << "  " << format_shape(r.shape) << " " << dtype_name(r.dtype)
           << (r.by_position ? " (paired by position among look-alikes)" : "") << "\n";
      }
    }
    for (const auto& k : m.added) {
      if (auto* o = lines.next()) *o << "  added     " << k << "\n";
    }
    for (const auto& k : m.removed) {
      if (auto* o = lines.next()) *o << "  removed   " << k << "\n";
    }
    for (const auto& s : m.reshaped) {
      if (auto* o = lines.next()) *o << "  reshaped  " << s.key << "  " << format_shape(s.checkpoint) << " -> " << format_shape(s.model) << "\n";
    }
    for (const auto& t : m.retyped) {
      if (auto* o = lines.next()) {
        *o << "  retyped   " << t.key << "  " << dtype_name(t.checkpoint) << " -> " << dtype_name(t.model) << " (PyTorch casts on load)\n";
      }
    }
    for (const auto& k : m.kind_changes) {
      if (auto* o = lines.next()) *o << "  kind      " << k << "\n";
    }
    for (const auto& k : m.load.migrated) {
      if (auto* o = lines.next()) *o << "  migrated  " << k << " (BatchNorm: set to 0 on load, as PyTorch does)\n";
    }
  }
  if (m.load.strictly_loadable()) return;
  out << "  a strict load fails:\n";
  {
    CappedLines lines(out, max_lines);
    const std::string message = m.load.pytorch_message();
    std::size_t start = 0;
    while (start < message.size()) {
      const std::size_t end = message.find('\n', start);
      std::string line = message.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (line.size() > kMaxLineBytes) {  // "Missing key(s) in state_dict: ..." of a whole model is one line
        line = line.substr(0, kMaxLineBytes) + " ... (" + std::to_string(line.size() - kMaxLineBytes) + " more bytes)";
      }
      if (auto* o = lines.next()) *o << "    " << line << "\n";
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  if (!m.load.hint.empty()) out << "  hint: " << m.load.hint << "\n";
}
}  // namespace

void write_schema_diff_text(std::ostream& out, const SchemaDiff& d, std::size_t max_lines) {
  out << "schema-diff: " << d.old_label << " -> " << d.new_label << "\n";
  for (const auto& m : d.modules_added) out << "module " << m << ": added (old checkpoints have no state for it)\n";
  for (const auto& m : d.modules_removed) out << "module " << m << ": removed (its state in old checkpoints is not used)\n";
  for (const auto& m : d.modules) write_module_text(out, m, max_lines);
  for (const auto& o : d.optimizers_added) out << "optimizer " << o << ": added (old checkpoints start it fresh)\n";
  for (const auto& o : d.optimizers_removed) out << "optimizer " << o << ": removed\n";
  for (const auto& o : d.optimizers) {
    if (!o.changed()) {
      out << "optimizer " << o.optimizer << ": unchanged\n";
      continue;
    }
    out << "optimizer " << o.optimizer << ":\n";
    CappedLines lines(out, max_lines);
    for (const auto& p : o.problems) {
      if (auto* s = lines.next()) *s << "  breaks    " << p << "\n";
    }
    for (const auto& c : o.changes) {
      if (auto* s = lines.next()) *s << "  changed   " << c << "\n";
    }
  }
  const std::string subject = d.old_is_checkpoint ? d.old_label : "checkpoints of " + d.old_label;
  const bool loads = d.strictly_loadable();
  if (d.old_is_checkpoint) {
    out << "verdict: " << subject << (loads ? " loads strictly" : " does NOT load strictly") << " into " << d.new_label << "\n";
  } else if (!d.changed()) {
    out << "verdict: no change to the checkpoint schema\n";
  } else {
    out << "verdict: " << subject << (loads ? " still load strictly" : " do NOT load strictly") << " into " << d.new_label << "\n";
  }
}

json schema_diff_json(const SchemaDiff& d) {
  json modules = json::array();
  for (const auto& m : d.modules) {
    json renamed = json::array();
    for (const auto& r : m.renamed) {
      renamed.push_back({{"from", r.from}, {"to", r.to}, {"shape", r.shape}, {"dtype", std::string(dtype_name(r.dtype))},
                         {"by_position", r.by_position}});
    }
    json retyped = json::array();
    for (const auto& t : m.retyped) {
      retyped.push_back({{"key", t.key}, {"old", std::string(dtype_name(t.checkpoint))}, {"new", std::string(dtype_name(t.model))}});
    }
    modules.push_back({{"module", m.module},
                       {"added", m.added},
                       {"removed", m.removed},
                       {"renamed", renamed},
                       {"reshaped", shape_json(m.reshaped)},
                       {"retyped", retyped},
                       {"kind_changes", m.kind_changes},
                       {"migrated", m.load.migrated},
                       {"strictly_loadable", m.load.strictly_loadable()},
                       {"pytorch_message", m.load.pytorch_message()},
                       {"hint", m.load.hint}});
  }
  json optimizers = json::array();
  for (const auto& o : d.optimizers) {
    optimizers.push_back({{"optimizer", o.optimizer}, {"problems", o.problems}, {"changes", o.changes}});
  }
  return {{"schema", "ckpt-harness.schema-diff"},
          {"schema_version", 1},
          {"old", d.old_label},
          {"new", d.new_label},
          {"changed", d.changed()},
          {"strictly_loadable", d.strictly_loadable()},
          {"modules_added", d.modules_added},
          {"modules_removed", d.modules_removed},
          {"modules", modules},
          {"optimizers_added", d.optimizers_added},
          {"optimizers_removed", d.optimizers_removed},
          {"optimizers", optimizers}};
}

}  // namespace ckpt
