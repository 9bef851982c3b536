#pragma once
// The command-line spelling of a LocatorSpec: --layout, --map, --file, --key-rule and
// --drop-key, the same on every command that reads a checkpoint for a model (`diff`,
// `record-golden`, `schema`, `schema-diff`, `inspect`), as [[checkpoints]] groups spell
// them in the config.
#include <string>
#include <vector>

#include "engine/locator.hpp"

namespace CLI {
class App;
}

namespace ckpt {

struct LocatorOptions {
  LocatorSpec spec;
  // Whether any of the options was given (a command may then locate components it would
  // otherwise take as they come).
  bool given() const { return spec.layout != "gan" || !spec.preset_only(); }
  void add_to(CLI::App& command);
};

// --module / --optimizer: the model's component names, where no plugin or manifest says
// them (`schema CHECKPOINT`, `inspect`).
struct ComponentNameOptions {
  std::vector<std::string> modules, optimizers;
  void add_to(CLI::App& command);
};

}  // namespace ckpt
