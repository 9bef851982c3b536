#pragma once
// What a model change does to its checkpoints: two model schemas (manifests) compared, the
// old one standing for every checkpoint its version wrote. Keys added, removed, renamed
// (by likely match: same shape and dtype, alike names), re-shaped, re-typed; modules and
// optimizers added or removed, optimizer class, group and hyper-parameter changes; and
// whether old checkpoints still load strictly, decided as `diff` decides it for one file.
#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "engine/compare.hpp"
#include "schema/model_schema.hpp"

namespace ckpt {

struct KeyRename {
  std::string from;  // key in the old schema
  std::string to;    // key in the new one
  DType dtype{};
  std::vector<std::int64_t> shape;
  bool by_position = false;  // paired in order among many look-alikes, not by name
};

struct ModuleSchemaDiff {
  std::string module;
  std::vector<std::string> added;    // new keys (old checkpoints miss them), renames left out
  std::vector<std::string> removed;  // old keys (unexpected in old checkpoints), renames left out
  std::vector<KeyRename> renamed;
  std::vector<ShapeMismatch> reshaped;  // checkpoint = old, model = new
  std::vector<DTypeMismatch> retyped;   // PyTorch casts these on load
  std::vector<std::string> kind_changes;  // "main.1.weight: parameter -> buffer"
  ModuleComparison load;  // the new model loading an old checkpoint: what PyTorch would say
  bool changed() const;
};

struct OptimizerSchemaDiff {
  std::string optimizer;
  std::vector<std::string> problems;  // each makes old saved state unusable
  std::vector<std::string> changes;   // hyper-parameters, parameter order: reported, not blocking
  bool changed() const { return !problems.empty() || !changes.empty(); }
};

struct SchemaDiff {
  std::string old_label, new_label;
  bool old_is_checkpoint = false;  // the old side is one checkpoint's schema, not a model's
  std::vector<std::string> modules_added, modules_removed;
  std::vector<ModuleSchemaDiff> modules;  // modules in both, in the new schema's order
  std::vector<std::string> optimizers_added, optimizers_removed;
  std::vector<OptimizerSchemaDiff> optimizers;  // in both
  // Old checkpoints load strictly into the new model: every new module is in them and
  // loads strictly, and every optimizer's saved state still fits.
  bool strictly_loadable() const;
  bool changed() const;
};

SchemaDiff diff_schemas(const ModelSchema& old_schema, const ModelSchema& new_schema);

// For people and CI logs: each list capped at `max_lines` (the JSON has everything).
void write_schema_diff_text(std::ostream& out, const SchemaDiff& diff, std::size_t max_lines = 20);
nlohmann::json schema_diff_json(const SchemaDiff& diff);  // schema "ckpt-harness.schema-diff" v1

}  // namespace ckpt
