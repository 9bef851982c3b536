#pragma once
// How to find a model's components in a checkpoint: the one set of options that `diff`,
// `schema`, `schema-diff`, `record-golden`, `inspect` and [[checkpoints]] groups share, so
// every command judges a checkpoint where the run finds it. A preset layout, then per
// component a path inside the file or a file of its own, then key rules in order.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/key_rules.hpp"
#include "engine/layout.hpp"

namespace ckpt {

struct LocatorSpec {
  std::string layout = "gan";                                 // a preset (layout_preset_names())
  std::vector<std::pair<std::string, std::string>> maps;      // component -> dotted path ("model.G", "states.0")
  std::vector<std::pair<std::string, std::string>> files;     // component -> its own state dict file
  std::vector<KeyRule> key_rules;                             // renaming and dropping, in order
  // The modules and optimizers the checkpoints hold (a generator-only download holds one
  // module, no optimizer); empty: every component of the model.
  std::vector<std::string> components;
  // Where the layout records no epoch: a regex with one group that finds it in the file
  // name ('^(\d+)_net_' for pytorch-CycleGAN-and-pix2pix's "<epoch>_net_G.pth").
  std::string epoch_from;

  bool holds(const std::string& component) const;
  std::string components_text() const;  // "generator", "generator, generator_optimizer"

  // Only the preset was chosen (nothing mapped, no file, no rule).
  bool preset_only() const { return maps.empty() && files.empty() && key_rules.empty(); }
};

// "model.G" -> ['model']['G']; "optimizer_states.0" -> ['optimizer_states'][0].
std::vector<PathStep> parse_dotted_path(const std::string& text);

// The layout of one checkpoint for a model with these components: the preset, then the
// maps and files. `main_file` is the unit's checkpoint (net-files names its siblings from
// it). Throws LayoutError.
CheckpointLayout locate_components(const LocatorSpec& spec, const std::vector<std::string>& modules,
                                   const std::vector<std::string>& optimizers, const std::string& main_file);

// The model's component names when no model is at hand (`schema CHECKPOINT`, `inspect`):
// what the layout itself names. "gan": the file's top-level state dicts and optimizer
// states (a file that is one state dict: the module "model"); "lightning": the first components of its 'state_dict' keys; "state-dict": one
// module, "model"; "net-files": the modules of the files beside it; and every component a
// map or a file names. "netG" names components after the model's: empty here.
struct ComponentNames {
  std::vector<std::string> modules;
  std::vector<std::string> optimizers;
  // The preset the names fit: "gan" given a file that is one bare state dict is "state-dict".
  std::string layout;
};
ComponentNames discover_components(const LocatorSpec& spec, CheckpointSet& files);

// Why `pattern` cannot be an epoch_from ("" when it can): a valid regex with exactly one group.
std::string epoch_from_problem(const std::string& pattern);
// The epoch the file name of `file` holds by `pattern`; nullopt when it does not match or
// the group is not a number ("latest_net_G.pth").
std::optional<std::int64_t> epoch_from_name(const std::string& pattern, const std::string& file);

// Every file a checkpoint's components are read from, the main file first: each must pass
// the checks of the main file (security findings included).
std::vector<std::string> files_of(const CheckpointLayout& layout, const std::string& main_file);

}  // namespace ckpt
