#pragma once
// Where in the checkpoint file(s) each module's state dict, each optimizer's state and the
// epoch live. Presets cover the usual layouts; anything else is spelled out in the config.
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/key_rules.hpp"
#include "engine/state_dict.hpp"
#include "reader/checkpoint.hpp"
#include "reader/read_error.hpp"

namespace ckpt {

class LayoutError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PathStep {
  std::string key;         // a dict key, or an attribute of a LibTorch archive object
  std::int64_t index = -1; // a list index when >= 0
};

std::string format_path(const std::vector<PathStep>& path);  // ['state_dict'] / ['optimizer_states'][0]

struct ComponentSource {
  std::string file;             // empty: the main checkpoint file
  std::vector<PathStep> path;   // empty: the whole file is the state dict
  std::string prefix;           // keep only keys with this prefix, then strip it ("generator.")
};

struct CheckpointLayout {
  std::string name;  // preset name or "custom"
  std::map<std::string, ComponentSource> modules;     // module name -> source
  std::map<std::string, ComponentSource> optimizers;  // optimizer name -> source
  std::vector<PathStep> epoch;                        // empty: no epoch recorded
  std::vector<KeyRule> key_rules;
};

// Presets: "gan" (generator, discriminator, generator_optimizer, discriminator_optimizer,
// epoch), "netG" (netG, netD, optimizerG, optimizerD), "lightning" (one flat 'state_dict'
// with '<module>.' prefixes and an 'optimizer_states' list in optimizer order),
// "state-dict" (the file is the state dict of the first module), and "net-files" (one
// state dict per module in files side by side, named `<prefix>_net_<module>.pth` or `.pt`
// as pytorch-CycleGAN-and-pix2pix's save_networks writes them: `main_file` is any one of
// them, each module is read from its sibling; no optimizer state, no epoch). `main_file` is
// the checkpoint file of the unit; only "net-files" needs it, and throws LayoutError when
// its name does not fit the pattern.
CheckpointLayout layout_preset(const std::string& name, const std::vector<std::string>& modules,
                               const std::vector<std::string>& optimizers, const std::string& main_file = "");
std::vector<std::string> layout_preset_names();

// The checkpoint files one case reads: the main file and any others the layout names.
class CheckpointSet {
 public:
  explicit CheckpointSet(std::string main_file, ReadOptions options = {});
  // "" is the main file; reads on first use. A file that cannot be read is read once: its
  // ReadError is thrown again to every later caller.
  const Checkpoint& get(const std::string& file);
  const std::string& main_file() const { return main_; }

 private:
  std::string main_;
  ReadOptions options_;
  std::map<std::string, std::unique_ptr<Checkpoint>> files_;
  std::map<std::string, ReadError> failures_;
};

// Follows `path`; nullptr when a step is absent. Throws LayoutError when a step meets a
// value of the wrong kind.
const Value* resolve_path(const Checkpoint& checkpoint, const std::vector<PathStep>& path);

// The state dict of one module: the dict at `source.path` (an OrderedDict, a plain dict
// or a LibTorch module object, flattened), rewritten by `rules`, then prefix-filtered.
// Throws LayoutError naming the file, the path and what is there instead.
StateDict extract_state_dict(CheckpointSet& files, const ComponentSource& source, const std::vector<KeyRule>& rules);

}  // namespace ckpt
