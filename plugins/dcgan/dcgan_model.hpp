#pragma once
// The canonical DCGAN of the PyTorch examples (dcgan/main.py): a generator and a
// discriminator, each a `main` Sequential (from 3.0 the discriminator's last conv is a
// separate `head`), trained with Adam. Sizes are options, so the same plugin checks the
// small fixtures and full-size 64x64 checkpoints.
//
// One model, several versions: each plugin (dcgan_v1.cpp, dcgan_v2.cpp, dcgan_v3.cpp)
// passes a DcganVersion to Dcgan and exports it with CKPT_PLUGIN. Every plugin includes
// this header from exactly one translation unit; the unnamed namespace keeps each
// library's copy its own when several versions are loaded into one process.
#include <ckpt/plugin.hpp>
#include <torch/nn/functional/loss.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

namespace {
namespace nn = torch::nn;

// What changed between versions of the model; everything else is shared.
struct DcganVersion {
  // The generator's first block has ngf * generator_first_width channels (v1: 8, v2: 16).
  std::int64_t generator_first_width;
  // p of a Dropout right before the discriminator's last conv; 0: no Dropout (v1).
  double discriminator_dropout;
  // The discriminator's last conv is its own attribute `head` (followed by a sigmoid in
  // forward), not the end of `main` (v3; v1, v2: false).
  bool separate_head = false;
};

struct Sizes {
  std::int64_t nz, ngf, ndf, nc;
};

nn::ConvTranspose2d up(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t padding) {
  return nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, out, 4).stride(stride).padding(padding).bias(false));
}
nn::Conv2d down(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t padding) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 4).stride(stride).padding(padding).bias(false));
}
nn::ReLU relu() { return nn::ReLU(nn::ReLUOptions(true)); }
nn::LeakyReLU leaky() { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2).inplace(true)); }

nn::Sequential generator_layers(const Sizes& s, const DcganVersion& v) {
  const std::int64_t first = s.ngf * v.generator_first_width;
  return nn::Sequential(up(s.nz, first, 1, 0), nn::BatchNorm2d(first), relu(),
                        up(first, s.ngf * 4, 2, 1), nn::BatchNorm2d(s.ngf * 4), relu(),
                        up(s.ngf * 4, s.ngf * 2, 2, 1), nn::BatchNorm2d(s.ngf * 2), relu(),
                        up(s.ngf * 2, s.ngf, 2, 1), nn::BatchNorm2d(s.ngf), relu(),
                        up(s.ngf, s.nc, 2, 1), nn::Tanh());
}

nn::Sequential discriminator_layers(const Sizes& s, const DcganVersion& v) {
  nn::Sequential main(down(s.nc, s.ndf, 2, 1), leaky(),
                      down(s.ndf, s.ndf * 2, 2, 1), nn::BatchNorm2d(s.ndf * 2), leaky(),
                      down(s.ndf * 2, s.ndf * 4, 2, 1), nn::BatchNorm2d(s.ndf * 4), leaky(),
                      down(s.ndf * 4, s.ndf * 8, 2, 1), nn::BatchNorm2d(s.ndf * 8), leaky());
  // Appended layers are named by position, as Python's Sequential names them.
  if (v.discriminator_dropout > 0) main->push_back(nn::Dropout(v.discriminator_dropout));
  if (v.separate_head) return main;  // the classifier is DiscriminatorImpl::head
  main->push_back(down(s.ndf * 8, 1, 1, 0));
  main->push_back(nn::Sigmoid());
  return main;
}

struct GeneratorImpl : nn::Module {
  nn::Sequential main;
  // The input and output channels, kept so sample_input does not depend on layer positions.
  std::int64_t nz, nc;
  GeneratorImpl(const Sizes& s, const DcganVersion& v) : main(generator_layers(s, v)), nz(s.nz), nc(s.nc) {
    register_module("main", main);
  }
  torch::Tensor forward(const torch::Tensor& z) { return main->forward(z); }
};

struct DiscriminatorImpl : nn::Module {
  nn::Sequential main;
  // The classifier conv when the version has a separate head (registered after `main`, so
  // the parameter order is that of v1/v2); empty otherwise.
  nn::Conv2d head{nullptr};
  DiscriminatorImpl(const Sizes& s, const DcganVersion& v) : main(discriminator_layers(s, v)) {
    register_module("main", main);
    if (v.separate_head) head = register_module("head", down(s.ndf * 8, 1, 1, 0));
  }
  torch::Tensor forward(const torch::Tensor& image) {
    if (head.is_empty()) return main->forward(image);
    return torch::sigmoid(head->forward(main->forward(image)));
  }
};

// weights_init of the example: conv weights ~ N(0, 0.02), batch norm weights ~ N(1, 0.02), bias 0.
void init_weights(nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& sub : module.modules(/*include_self=*/false)) {
    const std::string type = sub->name();
    if (type.find("Conv") != std::string::npos) {
      nn::init::normal_(sub->named_parameters(false)["weight"], 0.0, 0.02);
    } else if (type.find("BatchNorm") != std::string::npos) {
      auto params = sub->named_parameters(false);
      nn::init::normal_(params["weight"], 1.0, 0.02);
      nn::init::zeros_(params["bias"]);
    }
  }
}

class Dcgan : public ckpt::Architecture {
 public:
  explicit Dcgan(const DcganVersion& version) : version_(version) {}

  ckpt::Model build(const ckpt::Options& options) const override {
    ckpt::check_known_options(options, {"nz", "ngf", "ndf", "nc", "lr", "beta1", "beta2", "seed"});
    const Sizes s{ckpt::option_int(options, "nz", 100, 1, 4096), ckpt::option_int(options, "ngf", 64, 1, 4096),
                  ckpt::option_int(options, "ndf", 64, 1, 4096), ckpt::option_int(options, "nc", 3, 1, 64)};
    const double lr = ckpt::option_double(options, "lr", 2e-4);
    const double beta1 = ckpt::option_double(options, "beta1", 0.5);
    const double beta2 = ckpt::option_double(options, "beta2", 0.999);
    torch::manual_seed(ckpt::option_int(options, "seed", 0, 0, INT64_MAX));

    auto generator = std::make_shared<GeneratorImpl>(s, version_);
    auto discriminator = std::make_shared<DiscriminatorImpl>(s, version_);
    init_weights(*generator);
    init_weights(*discriminator);
    auto adam = [&](const nn::Module& m) {
      return std::make_shared<torch::optim::Adam>(m.parameters(),
                                                  torch::optim::AdamOptions(lr).betas({beta1, beta2}));
    };
    ckpt::Model model;
    model.modules.push_back({"generator", generator, [generator](const torch::Tensor& z) { return generator->forward(z); }});
    model.modules.push_back(
        {"discriminator", discriminator, [discriminator](const torch::Tensor& x) { return discriminator->forward(x); }});
    model.optimizers.push_back({"generator_optimizer", ckpt::qualified_parameter_names("generator", *generator), adam(*generator)});
    model.optimizers.push_back({"discriminator_optimizer", ckpt::qualified_parameter_names("discriminator", *discriminator), adam(*discriminator)});
    return model;
  }

  torch::Tensor sample_input(const ckpt::Model& model, const std::string& module, std::int64_t batch) const override {
    torch::manual_seed(1234);
    const auto& g = std::dynamic_pointer_cast<GeneratorImpl>(model.modules.at(0).module);
    if (module == "generator") return torch::randn({batch, g->nz, 1, 1});
    if (module == "discriminator") return torch::randn({batch, g->nc, 64, 64});
    return {};
  }

  // The example's loop: D on real (label 1) and fake (label 0), then G to fool D.
  bool train_step(ckpt::Model& model, std::int64_t step) const override {
    auto& g = model.modules.at(0);
    auto& d = model.modules.at(1);
    auto& opt_g = *model.optimizers.at(0).optimizer;
    auto& opt_d = *model.optimizers.at(1).optimizer;
    const std::int64_t batch = 4;
    torch::manual_seed(100 + step);
    const torch::Tensor images = sample_input(model, "discriminator", batch).tanh();
    const torch::Tensor noise = sample_input(model, "generator", batch);
    const auto bce = [](const torch::Tensor& out, float label) {
      return torch::nn::functional::binary_cross_entropy(out.view(-1), torch::full({out.size(0)}, label));
    };
    opt_d.zero_grad();
    const torch::Tensor fake = g.forward(noise);
    torch::Tensor loss_d = bce(d.forward(images), 1.0f) + bce(d.forward(fake.detach()), 0.0f);
    loss_d.backward();
    opt_d.step();
    opt_g.zero_grad();
    torch::Tensor loss_g = bce(d.forward(fake), 1.0f);
    loss_g.backward();
    opt_g.step();
    return true;
  }

 private:
  DcganVersion version_;
};
}  // namespace
