#pragma once
// LibTorch optimizers named as Python names them ("Adam", "SGD", ...) with hyper-parameters
// named as checkpoints and manifests name them (lr, beta1, beta2, eps, weight_decay,
// amsgrad as 0/1, momentum, ...): the generic plugins build the optimizers a model was
// trained with from a manifest or from config options.
#include <torch/optim/optimizer.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ckpt::generic {

using Hyper = std::map<std::string, double>;

// The classes make_optimizer knows, for messages: "Adam, AdamW, SGD, RMSprop, Adagrad".
std::string optimizer_classes();

// An optimizer of `class_name` with one parameter group per entry of `groups`, each with
// the hyper-parameters of the same index of `hyper` (unset ones take PyTorch's defaults).
// Throws ckpt::OptionError naming `what` for an unknown class or hyper-parameter.
std::shared_ptr<torch::optim::Optimizer> make_optimizer(const std::string& what, const std::string& class_name,
                                                        const std::vector<std::vector<torch::Tensor>>& groups,
                                                        const std::vector<Hyper>& hyper);

}  // namespace ckpt::generic
