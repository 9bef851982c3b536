#pragma once
// The model of the small test plugins: one module "net" with parameters weight and bias,
// trained by SGD ("net_optimizer"). tiny, the faulty plugins and misbehaving share it.
#include <ckpt/plugin.hpp>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>

namespace ckpt_test {

template <typename Net>
ckpt::Model one_module_model(const std::shared_ptr<Net>& net) {
  ckpt::Model model;
  model.modules.push_back({"net", net, [net](const torch::Tensor& x) { return net->forward(x); }});
  model.optimizers.push_back({"net_optimizer", {"net.weight", "net.bias"},
                              std::make_shared<torch::optim::SGD>(net->parameters(), torch::optim::SGDOptions(0.1))});
  return model;
}

// tiny's architecture: Linear(width, 2), sized by the option "width".
class LinearArchitecture : public ckpt::Architecture {
 public:
  ckpt::Model build(const ckpt::Options& options) const override {
    ckpt::check_known_options(options, {"width"});
    const std::int64_t width = ckpt::option_int(options, "width", 4, 1, 64);
    torch::manual_seed(0);
    return one_module_model(std::make_shared<torch::nn::LinearImpl>(width, 2));
  }

  torch::Tensor sample_input(const ckpt::Model& model, const std::string& module, std::int64_t batch) const override {
    if (module != "net") return {};
    const auto net = std::dynamic_pointer_cast<torch::nn::LinearImpl>(model.modules.at(0).module);
    torch::manual_seed(1234);
    return torch::randn({batch, net->options.in_features()});
  }

  bool train_step(ckpt::Model& model, std::int64_t step) const override {
    auto& net = model.modules.at(0);
    auto& sgd = *model.optimizers.at(0).optimizer;
    sgd.zero_grad();
    net.forward(sample_input(model, "net", 3)).pow(2).mean().backward();
    sgd.step();
    return true;
  }
};

}  // namespace ckpt_test
