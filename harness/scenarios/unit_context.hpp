#pragma once
// Everything the scenarios of one unit share, made on first use and kept for the unit:
// the checkpoint files, the plugin's model, the metadata comparison, and models loaded
// for inference and for resuming. Scenarios read it; only it loads and builds.
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "engine/apply.hpp"
#include "engine/layout.hpp"
#include "plugin_host/plugin_host.hpp"
#include "protocol/unit_request.hpp"
#include "scenarios/compatibility.hpp"

namespace ckpt {

// A reason a scenario cannot run (the module did not load, no training step, ...): the
// case is skipped with this message.
class SkipCase : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class UnitContext {
 public:
  // `prebuilt`: a fresh model of this plugin with the request's options, if one is at hand.
  UnitContext(const UnitRequest& request, std::shared_ptr<Plugin> plugin, std::optional<LoadedModel> prebuilt = {});

  const UnitRequest& request() const { return request_; }
  const ScenarioSettings& settings() const { return request_.settings; }
  const Plugin& plugin() const;

  const Checkpoint& checkpoint();          // the main file; throws ReadError
  // How the unit's files are read: the request's size limit and confinement.
  ReadOptions read_options() const;
  CheckpointSet& files() { return files_; }
  const CheckpointLayout& layout();
  // Every file the unit reads, the main file first: net-files siblings and component files
  // too, each of which must pass the main file's checks. Without a plugin, the files the
  // layout itself names (discover_components).
  std::vector<std::string> files_read();
  const CompatibilityReport& compatibility();
  const ModuleResult& module_result(const std::string& module);
  const OptimizerResult& optimizer_result(const std::string& optimizer);

  LoadedModel build() const;               // a freshly initialised model
  // The unit's model, built once: every strictly loadable module loaded (strict). Other
  // modules keep their initialisation. Scenarios set eval()/train() as they need.
  LoadedModel& loaded_model();
  // The same model with every loadable saved optimizer state loaded: ready to train on.
  // One model serves both, so a unit holds the parameters and optimizer state once.
  LoadedModel& resumed_model();
  LoadedModel make_resumed();              // another one, built and loaded afresh
  // Throws SkipCase when the group says its checkpoints do not hold `component`.
  void require_held(const std::string& component) const;
  // Throws SkipCase when the group's checkpoints lack a module of the model: training does
  // not resume from a generator-only file.
  void require_every_module_held();
  // Throws SkipCase unless `module` loads strictly.
  void require_strict(const std::string& module);
  // The model is a schema (plugins/manifest): its tensors are on the meta device, with
  // shapes and dtypes but no values. Loads compare without copying; the scenarios that need
  // values call require_values.
  bool schema_only();
  // Throws SkipCase when the model is schema only: `scenario` needs real values.
  void require_values(const std::string& scenario);
  DTypePolicy dtype_policy() const;

 private:
  void load_modules(LoadedModel& model);
  void load_optimizers(LoadedModel& model);
  LoadedModel& described_model();
  UnitRequest request_;
  std::shared_ptr<Plugin> plugin_;
  CheckpointSet files_;
  std::optional<CheckpointLayout> layout_;
  std::optional<LoadedModel> model_;  // built once: component names, schema, then loaded
  std::optional<CompatibilityReport> compatibility_;
  bool modules_loaded_ = false;
  bool optimizers_loaded_ = false;
  std::optional<bool> schema_only_;
};

}  // namespace ckpt
