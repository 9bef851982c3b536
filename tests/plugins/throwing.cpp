// A plugin whose code throws every kind of exception the host must translate:
//   build(): option throw=std|c10|int|option (no option: a working model);
//   sample_input(): module "boom" -> c10::Error; train_step(): step < 0 -> std::runtime_error;
//   the factory, when the environment has CKPT_TEST_FACTORY_THROWS.
#include <c10/util/Exception.h>
#include <ckpt/plugin.hpp>
#include <torch/nn/modules/linear.h>

#include <cstdlib>
#include <stdexcept>

namespace {

class Throwing : public ckpt::Architecture {
 public:
  Throwing() {
    if (std::getenv("CKPT_TEST_FACTORY_THROWS") != nullptr) throw std::runtime_error("no GPU found for this model");
  }

  ckpt::Model build(const ckpt::Options& options) const override {
    ckpt::check_known_options(options, {"throw"});
    const auto it = options.find("throw");
    const std::string mode = it == options.end() ? "" : it->second;
    if (mode == "std") throw std::runtime_error("bad weights file");
    if (mode == "c10") TORCH_CHECK(false, "tensor mismatch in plugin");
    if (mode == "int") throw 42;
    if (mode == "option") ckpt::option_int({{"depth", "99"}}, "depth", 1, 1, 8);
    const auto net = std::make_shared<torch::nn::LinearImpl>(2, 2);
    ckpt::Model model;
    model.modules.push_back({"net", net, [net](const torch::Tensor& x) { return net->forward(x); }});
    return model;
  }

  torch::Tensor sample_input(const ckpt::Model& model, const std::string& module, std::int64_t batch) const override {
    TORCH_CHECK(module != "boom", "no sample input for module '", module, "'");
    return torch::zeros({batch, 2});
  }

  bool train_step(ckpt::Model& model, std::int64_t step) const override {
    if (step < 0) throw std::runtime_error("loss is NaN at step " + std::to_string(step));
    return false;
  }
};

}  // namespace

CKPT_PLUGIN(Throwing, "throwing", "1.0.0", "Throws from every entry point on request")
