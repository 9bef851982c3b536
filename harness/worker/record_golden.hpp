#pragma once
// `ckpt-harness record-golden CHECKPOINT --plugin NAME`: snapshot testing without Python.
// Loads the checkpoint strictly into the plugin's current model, runs every module that
// has a forward, in eval mode, on the plugin's fixed sample input, and writes
// {'golden_format': 1, 'modules': {name: {'input': x, 'output': y}}, 'recorded_with':
// 'LibTorch 1.13.1'} beside the checkpoint
// (NAME.golden.pt, the file the golden-output scenario reads). The file is a torch.save
// archive: Python's torch.load and the harness's reader both open it.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/layout.hpp"
#include "plugin_host/plugin_host.hpp"

namespace ckpt {

class GoldenRecordError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct GoldenRecording {
  std::string file;
  std::vector<std::string> modules;  // recorded, in the plugin's order
  std::vector<std::string> skipped;  // "name: why"
};

// Throws GoldenRecordError when a module with a forward does not load strictly (golden
// outputs of a half-loaded model would hold later versions to nonsense) or nothing can be
// recorded; the file is written atomically.
GoldenRecording record_golden(CheckpointSet& files, const Plugin& plugin, LoadedModel& model,
                              const CheckpointLayout& layout, std::int64_t batch, const std::string& out_file);

}  // namespace ckpt
