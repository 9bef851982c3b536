#pragma once
// The pix2pix of junyanz/pytorch-CycleGAN-and-pix2pix (models/pix2pix_model.py): a generator G
// translating A images to B (UnetGenerator or ResnetGenerator) and a conditional PatchGAN
// discriminator D judging an A image and a B image joined along channels (input_nc +
// output_nc); optimizer_G and optimizer_D are Adam over each. Its save_networks writes one
// state dict per network, <epoch>_net_G.pth and <epoch>_net_D.pth (latest_net_*.pth for the
// latest): the net-files layout. Sizes are options with the project's defaults (ngf = ndf =
// 64, 256x256 images), so the same plugin checks tiny fixtures and full-size checkpoints.
//
// One model, several versions: each plugin (pix2pix_v1.cpp, ...) passes a Pix2PixVersion to
// Pix2Pix and exports it with CKPT_PLUGIN. fixtures/models/pix2pix.py is the Python twin:
// same names, same parameter order, same training step.
#include <ckpt/plugin.hpp>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include "image_to_image/networks.hpp"

namespace {

// What changed between versions of the model; everything else is shared.
struct Pix2PixVersion {
  enum class Generator { kUnet256, kResnet9Blocks } generator;  // --netG unet_256 / resnet_9blocks
  bool batch_norm;                                               // --norm batch (else instance)
};

// The options of one build; the generator keeps them (not as state) for sample_input and
// train_step.
struct Pix2PixSettings {
  std::int64_t input_nc, output_nc, ngf, ndf, n_layers_d, image_size;
  double lambda_l1;
};

// The generator of either kind, with its build's settings.
struct Pix2PixGeneratorImpl : nn::Module {
  Pix2PixSettings settings;
  // The network's forward; the lambda owns the network, whose `model` is registered as G's
  // own (its keys are G's, as in the project's save_networks).
  std::function<torch::Tensor(const torch::Tensor&)> run;
  Pix2PixGeneratorImpl(const Pix2PixVersion& version, const Pix2PixSettings& s, const NetworkOptions& o) : settings(s) {
    if (version.generator == Pix2PixVersion::Generator::kUnet256) {
      auto unet = std::make_shared<UnetGeneratorImpl>(o, s.input_nc, s.output_nc, 8);
      register_module("model", unet->model);
      run = [unet](const torch::Tensor& x) { return unet->forward(x); };
    } else {
      auto resnet = std::make_shared<ResnetGeneratorImpl>(o, s.input_nc, s.output_nc, 9);
      register_module("model", resnet->model);
      run = [resnet](const torch::Tensor& x) { return resnet->forward(x); };
    }
  }
  torch::Tensor forward(const torch::Tensor& x) { return run(x); }
};

class Pix2Pix : public ckpt::Architecture {
 public:
  explicit Pix2Pix(const Pix2PixVersion& version) : version_(version) {}

  ckpt::Model build(const ckpt::Options& options) const override {
    ckpt::check_known_options(options, {"input_nc", "output_nc", "ngf", "ndf", "n_layers_D", "image_size", "lr", "beta1",
                                        "lambda_L1", "seed"});
    Pix2PixSettings s{};
    s.input_nc = ckpt::option_int(options, "input_nc", 3, 1, 64);
    s.output_nc = ckpt::option_int(options, "output_nc", 3, 1, 64);
    s.ngf = ckpt::option_int(options, "ngf", 64, 1, 4096);
    s.ndf = ckpt::option_int(options, "ndf", 64, 1, 4096);
    s.n_layers_d = ckpt::option_int(options, "n_layers_D", 3, 1, 8);
    s.image_size = ckpt::option_int(options, "image_size", 256, 8, 4096);
    const bool unet = version_.generator == Pix2PixVersion::Generator::kUnet256;
    if (s.image_size % (unet ? 256 : 4) != 0) {
      throw ckpt::OptionError("option 'image_size' is '" + std::to_string(s.image_size) + "': expected a multiple of " +
                              (unet ? "256 (unet_256 halves it 8 times)" : "4 (the resnet generator downsamples twice)"));
    }
    if (s.image_size >> s.n_layers_d < 4) {
      throw ckpt::OptionError("option 'image_size' is '" + std::to_string(s.image_size) + "': too small for a " +
                              std::to_string(s.n_layers_d) + "-layer discriminator (at least " +
                              std::to_string(std::int64_t{4} << s.n_layers_d) + ")");
    }
    s.lambda_l1 = ckpt::option_double(options, "lambda_L1", 100.0);
    const double lr = ckpt::option_double(options, "lr", 2e-4);
    const double beta1 = ckpt::option_double(options, "beta1", 0.5);
    torch::manual_seed(ckpt::option_int(options, "seed", 0, 0, INT64_MAX));

    // Built and initialised in the order of Pix2PixModel.__init__; the project trains pix2pix
    // with dropout in G (no --no_dropout).
    const NetworkOptions networks{s.ngf, s.ndf, version_.batch_norm, /*dropout=*/true};
    auto g = std::make_shared<Pix2PixGeneratorImpl>(version_, s, networks);
    init_weights(*g);
    auto d = std::make_shared<NLayerDiscriminatorImpl>(networks, s.input_nc + s.output_nc, s.n_layers_d);
    init_weights(*d);
    auto adam = [&](const nn::Module& m) {
      return std::make_shared<torch::optim::Adam>(m.parameters(), torch::optim::AdamOptions(lr).betas({beta1, 0.999}));
    };
    ckpt::Model model;
    model.modules.push_back({"G", g, [g](const torch::Tensor& x) { return g->forward(x); }});
    model.modules.push_back({"D", d, [d](const torch::Tensor& x) { return d->forward(x); }});
    model.optimizers.push_back({"optimizer_G", ckpt::qualified_parameter_names("G", *g), adam(*g)});
    model.optimizers.push_back({"optimizer_D", ckpt::qualified_parameter_names("D", *d), adam(*d)});
    return model;
  }

  // Images in [-1, 1]: an A image for G, an A and a B image joined for D.
  torch::Tensor sample_input(const ckpt::Model& model, const std::string& module, std::int64_t batch) const override {
    const Pix2PixSettings& s = generator(model).settings;
    std::int64_t channels = 0;
    if (module == "G") channels = s.input_nc;
    if (module == "D") channels = s.input_nc + s.output_nc;
    if (channels == 0) return {};
    torch::manual_seed(1234);
    return torch::rand({batch, channels, s.image_size, s.image_size}) * 2 - 1;
  }

  // Pix2PixModel.optimize_parameters on one random (A, B) pair (the project's batch size 1):
  // fake_B = G(A); D on (A, fake_B) detached and (A, B), vanilla GAN loss (BCE with logits),
  // (fake + real) * 0.5; then G with D frozen: the GAN loss of D(A, fake_B) as real plus
  // L1(fake_B, B) * lambda_L1. D's parameters are left trainable, as built.
  bool train_step(ckpt::Model& model, std::int64_t step) const override {
    auto& g = model.modules.at(0);
    auto& d = model.modules.at(1);
    auto& opt_g = *model.optimizers.at(0).optimizer;
    auto& opt_d = *model.optimizers.at(1).optimizer;
    const Pix2PixSettings& s = generator(model).settings;
    torch::manual_seed(100 + step);
    const torch::Tensor real_a = torch::rand({1, s.input_nc, s.image_size, s.image_size}) * 2 - 1;
    const torch::Tensor real_b = torch::rand({1, s.output_nc, s.image_size, s.image_size}) * 2 - 1;
    const auto gan_loss = [](const torch::Tensor& prediction, bool real) {
      return torch::nn::functional::binary_cross_entropy_with_logits(prediction,
                                                                     torch::full_like(prediction, real ? 1.0 : 0.0));
    };
    const auto set_requires_grad = [](ckpt::Module& m, bool on) {
      for (auto& p : m.module->parameters()) p.set_requires_grad(on);
    };

    const torch::Tensor fake_b = g.forward(real_a);
    // backward_D: fake first, then real, in separate statements (batch-norm statistics
    // depend on the order).
    opt_d.zero_grad();
    const torch::Tensor loss_d_fake = gan_loss(d.forward(torch::cat({real_a, fake_b}, 1).detach()), false);
    const torch::Tensor loss_d_real = gan_loss(d.forward(torch::cat({real_a, real_b}, 1)), true);
    torch::Tensor loss_d = (loss_d_fake + loss_d_real) * 0.5;
    loss_d.backward();
    opt_d.step();

    set_requires_grad(d, false);
    opt_g.zero_grad();
    const torch::Tensor loss_g_gan = gan_loss(d.forward(torch::cat({real_a, fake_b}, 1)), true);
    const torch::Tensor loss_g_l1 = torch::nn::functional::l1_loss(fake_b, real_b) * s.lambda_l1;
    torch::Tensor loss_g = loss_g_gan + loss_g_l1;
    loss_g.backward();
    opt_g.step();
    set_requires_grad(d, true);
    return true;
  }

 private:
  static const Pix2PixGeneratorImpl& generator(const ckpt::Model& model) {
    const auto g = std::dynamic_pointer_cast<Pix2PixGeneratorImpl>(model.modules.at(0).module);
    if (!g) throw std::logic_error("pix2pix: module 0 is not its generator");
    return *g;
  }

  Pix2PixVersion version_;
};
}  // namespace
