#pragma once
// LR scheduler states saved beside optimizer states, checked against them from metadata
// and scalars alone. A scheduler writes each group's lr at every step and keeps its own
// copy (_last_lr), its starting lrs (base_lrs, the groups' initial_lr) and its step count
// (last_epoch): a checkpoint whose scheduler and optimizer were saved at different moments,
// or that belong to different optimizers, resumes on another learning-rate curve, silently.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/saved_optimizer.hpp"
#include "reader/value.hpp"

namespace ckpt {

// An optimizer state the layout found, by its component name ("generator_optimizer").
struct SavedOptimizerRef {
  std::string name;
  const SavedOptimizerState* state = nullptr;
  std::optional<std::int64_t> steps;  // the largest saved 'step', when the state has one
};

struct SchedulerCheck {
  std::string name;              // the checkpoint key ("generator_scheduler")
  std::string scheduler_class;   // implied by its keys ("SequentialLR"; "" when they do not say)
  std::vector<std::string> nested;  // the classes of SequentialLR's / ChainedScheduler's schedulers
  std::string optimizer;         // the optimizer it steps, "" when none could be paired
  std::optional<std::int64_t> last_epoch;
  std::vector<std::string> problems;  // what makes the resumed curve differ from the saved run's
  std::vector<std::string> facts;
};

// Every scheduler state among the root dict's entries, paired with an optimizer by name
// ("X_scheduler" steps "X_optimizer", "sched_X" / "X_sched" alike) or, failing that, by
// the only optimizer whose groups' lrs it holds; then checked: one lr per group, _last_lr
// equal to the groups' lr, base_lrs to their initial_lr, and a per-batch scheduler
// (OneCycleLR, CyclicLR) as many steps in as its optimizer and not past its total.
std::vector<SchedulerCheck> check_saved_schedulers(const Value& root, const std::vector<SavedOptimizerRef>& optimizers);

}  // namespace ckpt
