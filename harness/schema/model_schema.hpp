#pragma once
// A model's checkpoint schema as plain data: per module, the state-dict keys with dtype,
// shape and kind; per optimizer, its class, groups, parameter order and hyper-parameters.
// Kept as a manifest (JSON, schema "ckpt-harness.model-schema" v1), written by
// `ckpt-harness schema` (from a plugin or a checkpoint) and by
// plugins/manifest/write_manifest.py (from a Python model); `schema-diff` compares two.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/module_schema.hpp"

namespace ckpt {

struct OptimizerGroupSchema {
  std::size_t size = 0;                 // parameters in the group
  std::vector<std::string> parameters;  // qualified names in order ("generator.main.0.weight"); empty when unknown
  std::map<std::string, double> hyper;  // lr, beta1, beta2, eps, weight_decay, amsgrad (0 or 1), ...
};

struct OptimizerSchema {
  std::string name;        // "generator_optimizer"
  std::string class_name;  // "Adam"; a checkpoint's may be "Adam or AdamW", or "" when it cannot tell
  std::vector<OptimizerGroupSchema> groups;
};

// PyTorch's `_metadata` module versions of a module's state dict ({prefix: version}): a
// norm layer saved at version 2 or later gets no num_batches_tracked migration on load.
struct ModuleVersions {
  bool known = false;  // false: no _metadata (migration assumed, as PyTorch does)
  std::map<std::string, std::int64_t> by_prefix;  // only versions other than 1 are kept
};

struct ModelSchema {
  std::string name;     // "dcgan"; "" for the schema a checkpoint implies
  std::string version;  // "2.0.0"
  std::string source;   // what it was written from: "plugin <file>", "python <module>", "checkpoint <file>"
  // A checkpoint's state dict does not say which tensors are buffers: false for its schema.
  bool tensor_kinds_known = true;
  std::vector<ModuleSchema> modules;  // TensorSlot order is the state dict's
  std::map<std::string, ModuleVersions> versions;  // by module name
  std::vector<OptimizerSchema> optimizers;

  const ModuleSchema* module(const std::string& name) const;
  const OptimizerSchema* optimizer(const std::string& name) const;
  std::string label() const;  // "dcgan 2.0.0", or the source when unnamed
};

// A manifest that is not one: the message names the file, the JSON path and what was expected.
class SchemaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr int kModelSchemaVersion = 1;
inline constexpr std::uint64_t kMaxManifestBytes = 64ull << 20;  // a manifest is metadata: far smaller

nlohmann::json to_json(const ModelSchema& schema);
// `file` names the manifest in errors. Throws SchemaError.
ModelSchema model_schema_from_json(const nlohmann::json& j, const std::string& file);
ModelSchema read_model_schema(const std::string& file);  // throws SchemaError

}  // namespace ckpt
