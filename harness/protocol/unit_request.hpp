#pragma once
// What the supervisor asks a worker to run: one unit (a plugin version x a checkpoint) and
// the cases of it that were selected. Sent as one JSON line; plain values only.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace ckpt {

struct PlannedCase {
  std::string scenario;
  std::string component;  // "" for checkpoint-wide scenarios
};

struct UnitRequest {
  std::string id;
  std::string plugin_file;                    // "" for a checkpoint no plugin is meant for
  std::string shown_plugin_file;              // as messages name it (relative to the config's repository)
  std::map<std::string, std::string> options; // the plugin's build options
  // The files a [[models]] entry gives its plugin (files.* options, resolved to open):
  // resolved path -> as messages name it (relative to the config's repository).
  std::map<std::string, std::string> shown_files;
  std::string checkpoint;                     // path the worker opens
  std::string golden;                         // recorded outputs beside it (may not exist)
  LocatorSpec locator;                        // where the components are
  std::vector<PlannedCase> cases;             // in run order
  ScenarioSettings settings;
  std::vector<std::string> allowed_globals;
  std::uint64_t max_file_bytes = 0;           // 0: the reader's default
  // Directories the unit's files (checkpoint, shards, golden file) must really lie in:
  // the config's repository and --allow-path (resolved); empty: anywhere.
  std::vector<std::string> confine_to{};
};

// `text` (a plugin's message) with each resolved file of `shown_files` named as shown.
std::string with_shown_files(const std::map<std::string, std::string>& shown_files, std::string text);

nlohmann::json to_json(const UnitRequest& request);
UnitRequest request_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception

// The golden-output file recorded for a checkpoint: same directory and stem, suffix
// ".golden.pt" (runs/ckpt_0040.pt -> runs/ckpt_0040.golden.pt); for one LibTorch version,
// ".golden.libtorch-1.13.pt" (record-golden --for-this-libtorch writes it beside the
// original, and a harness on that LibTorch reads it first).
std::string golden_path_for(const std::string& checkpoint, const std::string& libtorch = "");

}  // namespace ckpt
