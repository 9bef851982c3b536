#pragma once
// A team's own training step, exported with its modules as one TorchScript module, for
// models the harness's recipe (gan_step.hpp) does not describe: several generators and
// cycle terms (CycleGAN), class labels (a conditional GAN), any loss. Its children are the
// model's modules (named as the checkpoint's components), and it has two methods:
//
//   def batch(self) -> Dict[str, Tensor]        one batch of training data, drawn from
//                                               torch's global generator (the harness seeds it)
//   def loss(self, optimizer: str, batch: Dict[str, Tensor]) -> Tensor
//                                               what that optimizer's step minimises
//
// One step: seed, batch(), then for each optimizer in gan.updates order: zero_grad,
// loss(name, batch).backward(), step. The batch is one dict for the whole step, so a loss
// may leave a result in it for the next (fake_B = G_A(real_A) in G's loss, reused detached
// in D's), as the team's training loop does.
#include <torch/csrc/jit/api/module.h>
#include <torch/optim/optimizer.h>

#include <string>
#include <utility>
#include <vector>

namespace ckpt::torchscript {

class ExportedStep {
 public:
  // Throws ckpt::OptionError naming `option` and `file` when `module` lacks the methods.
  ExportedStep(torch::jit::Module module, const std::string& option, const std::string& file);

  // The model's modules: the step's direct children.
  std::vector<std::pair<std::string, torch::jit::Module>> modules() const;

  // Throws std::runtime_error naming the method and the optimizer when the team's code fails.
  void run(const std::vector<std::pair<std::string, torch::optim::Optimizer*>>& updates, std::int64_t step);

 private:
  torch::jit::Module module_;
  std::string file_;
};

}  // namespace ckpt::torchscript
