#pragma once
// The training state a PyTorch 2.x script saves beside models and optimizers, recognised by
// shape: an LR scheduler's state dict (and the scheduler class its keys imply), a GradScaler's
// (torch.amp), and the torch, numpy and Python random generators' states. Views name them in
// one line instead of showing 625 integers of a Mersenne Twister.
#include <string>

#include "reader/value.hpp"

namespace ckpt {

// "LR scheduler state (StepLR): last_epoch=3, base_lrs=[0.0002]", "GradScaler state: scale=1024, ...",
// "torch CPU generator state (Mersenne Twister, 5056 bytes)", "numpy RNG state (MT19937)",
// "Python random state (Mersenne Twister)"; "" for anything else.
std::string describe_training_state(const Value& value);

// Whether a dict is an LR scheduler's state_dict() (torch.optim.lr_scheduler, SequentialLR and
// ChainedScheduler included), and the class its keys imply ("OneCycleLR", "LambdaLR or
// MultiplicativeLR"; "" when the keys do not say).
bool is_scheduler_state(const Value& value);
std::string scheduler_class(const Value& state);

}  // namespace ckpt
