// tiny's model with an LR scheduler: StepLR(step_size 1, gamma 0.5) stepping "net_optimizer",
// saved as "net_scheduler". epoch-resume checks it against the checkpoint's scheduler state.
#include <torch/optim/schedulers/step_lr.h>

#include "linear_model.hpp"

namespace {
class Scheduled : public ckpt_test::LinearArchitecture {
 public:
  ckpt::Model build(const ckpt::Options& options) const override {
    ckpt::Model model = LinearArchitecture::build(options);
    model.schedulers.push_back({"net_scheduler", "net_optimizer",
                                std::make_shared<torch::optim::StepLR>(*model.optimizers.at(0).optimizer, 1, 0.5)});
    return model;
  }
};
}  // namespace

CKPT_PLUGIN(Scheduled, "scheduled", "1.0.0", "tiny's Linear and SGD, with a StepLR")
