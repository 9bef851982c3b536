#pragma once
// The console view of `inspect`: a tree of the checkpoint, a summary line and findings.
#include <ostream>
#include <string>
#include <vector>

#include "reader/checkpoint.hpp"

namespace ckpt {

struct TreeViewOptions {
  std::size_t max_depth = static_cast<std::size_t>(-1);  // levels below the root to show
  bool expand_optimizers = false;  // else one line per optimizer, scheduler, GradScaler and RNG state
  std::size_t max_children = 10'000;                       // per container, then "... and N more"
  std::vector<std::string> allowed_globals;                // findings accepted by the config
};

void write_tree_view(std::ostream& out, const Checkpoint& checkpoint, const TreeViewOptions& options);

// A torch.distributed.checkpoint's files (which chunks each holds) and whether the chunks
// cover every tensor: `integrity` is the reading's findings and the records' check.
void write_dcp_layout(std::ostream& out, const Checkpoint& checkpoint, const std::vector<IntegrityFinding>& integrity);

}  // namespace ckpt
