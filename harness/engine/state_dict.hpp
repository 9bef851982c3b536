#pragma once
// One module's entries taken from a checkpoint tree, after the layout chose them and the
// key rules rewrote their keys. Values stay lazy references into the checkpoint.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reader/value.hpp"

namespace ckpt {

struct StateEntry {
  std::string key;           // after key rules and prefix stripping
  std::string original_key;  // as stored in the checkpoint
  const Value* value;
};

struct StateDict {
  std::string source;  // "runs/ckpt.pt ['generator']", for messages
  std::vector<StateEntry> entries;
  // PyTorch's `_metadata`: per-module-prefix versions ("main.1" -> 2); empty if absent.
  std::map<std::string, std::int64_t> versions;
  bool has_metadata = false;
  std::vector<std::string> applied_rules;  // "'^module\\.' -> '' rewrote 12 keys"

  const StateEntry* find(const std::string& key) const;
};

// Reads PyTorch's `_metadata` of a state dict ({prefix: {'version': N}}) into `out`.
void read_state_dict_versions(const Value& metadata, StateDict& out);

}  // namespace ckpt
