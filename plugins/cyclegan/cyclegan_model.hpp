#pragma once
// The CycleGAN of junyanz/pytorch-CycleGAN-and-pix2pix (models/networks.py,
// models/cycle_gan_model.py): two ResnetGenerators G_A (A -> B) and G_B (B -> A), two
// PatchGAN discriminators D_A (judges B images) and D_B (judges A images), each a `model`
// Sequential whose keys mirror Python's; optimizer_G is one Adam over G_A's then G_B's
// parameters, optimizer_D one over D_A's then D_B's. Sizes are options with the project's
// defaults (ngf = ndf = 64, 256x256 images), so the same plugin checks tiny fixtures and
// full-size checkpoints.
//
// One model, several versions: each plugin (cyclegan_v1.cpp, ...) passes a CycleGanVersion
// to CycleGan and exports it with CKPT_PLUGIN. Every plugin includes this header from
// exactly one translation unit; the unnamed namespace keeps each library's copy its own
// when several versions are loaded into one process. fixtures/models/cyclegan.py is the
// Python twin: same names, same parameter order.
#include <ckpt/plugin.hpp>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include "image_to_image/networks.hpp"

namespace {

// What changed between versions of the model; everything else is shared.
struct CycleGanVersion {
  // Residual blocks of the generators when the `n_blocks` option does not say
  // (v1: 6, the project's resnet_6blocks; v2 on: 9, resnet_9blocks).
  std::int64_t default_blocks;
  // Norm layers: false is the project's `--norm instance`, true `--norm batch`
  // (NetworkOptions::batch_norm).
  bool batch_norm;
};

// The options of one build; the generators keep them (not as state) for sample_input and
// train_step.
struct Settings {
  std::int64_t input_nc, output_nc, ngf, ndf, n_blocks, n_layers_d, image_size;
  double lambda_a, lambda_b, lambda_identity;
  bool batch_norm;
};

// A ResnetGenerator that keeps its build's settings. The project's CycleGAN leaves
// use_dropout False.
struct CycleGanGeneratorImpl : ResnetGeneratorImpl {
  Settings settings;
  CycleGanGeneratorImpl(const Settings& s, std::int64_t input_nc, std::int64_t output_nc)
      : ResnetGeneratorImpl(NetworkOptions{s.ngf, s.ndf, s.batch_norm, false}, input_nc, output_nc, s.n_blocks), settings(s) {}
};

class CycleGan : public ckpt::Architecture {
 public:
  explicit CycleGan(const CycleGanVersion& version) : version_(version) {}

  ckpt::Model build(const ckpt::Options& options) const override {
    ckpt::check_known_options(options, {"input_nc", "output_nc", "ngf", "ndf", "n_blocks", "n_layers_D", "image_size", "lr",
                                        "beta1", "lambda_A", "lambda_B", "lambda_identity", "seed"});
    Settings s{};
    s.input_nc = ckpt::option_int(options, "input_nc", 3, 1, 64);
    s.output_nc = ckpt::option_int(options, "output_nc", 3, 1, 64);
    s.ngf = ckpt::option_int(options, "ngf", 64, 1, 4096);
    s.ndf = ckpt::option_int(options, "ndf", 64, 1, 4096);
    s.n_blocks = ckpt::option_int(options, "n_blocks", version_.default_blocks, 0, 64);
    s.n_layers_d = ckpt::option_int(options, "n_layers_D", 3, 1, 8);
    s.image_size = ckpt::option_int(options, "image_size", 256, 8, 4096);
    if (s.image_size % 4 != 0) {
      throw ckpt::OptionError("option 'image_size' is '" + options.at("image_size") +
                              "': expected a multiple of 4 (the generators downsample twice)");
    }
    if (s.image_size >> s.n_layers_d < 4) {
      throw ckpt::OptionError("option 'image_size' is '" + std::to_string(s.image_size) + "': too small for a " +
                              std::to_string(s.n_layers_d) + "-layer discriminator (at least " +
                              std::to_string(std::int64_t{4} << s.n_layers_d) + ")");
    }
    s.lambda_a = ckpt::option_double(options, "lambda_A", 10.0);
    s.lambda_b = ckpt::option_double(options, "lambda_B", 10.0);
    s.lambda_identity = ckpt::option_double(options, "lambda_identity", 0.5);
    s.batch_norm = version_.batch_norm;
    const double lr = ckpt::option_double(options, "lr", 2e-4);
    const double beta1 = ckpt::option_double(options, "beta1", 0.5);
    torch::manual_seed(ckpt::option_int(options, "seed", 0, 0, INT64_MAX));

    // Built and initialised in the order of CycleGANModel.__init__.
    const NetworkOptions networks{s.ngf, s.ndf, s.batch_norm, false};
    auto g_a = std::make_shared<CycleGanGeneratorImpl>(s, s.input_nc, s.output_nc);
    init_weights(*g_a);
    auto g_b = std::make_shared<CycleGanGeneratorImpl>(s, s.output_nc, s.input_nc);
    init_weights(*g_b);
    auto d_a = std::make_shared<NLayerDiscriminatorImpl>(networks, s.output_nc, s.n_layers_d);
    init_weights(*d_a);
    auto d_b = std::make_shared<NLayerDiscriminatorImpl>(networks, s.input_nc, s.n_layers_d);
    init_weights(*d_b);

    auto adam = [&](const nn::Module& first, const nn::Module& second) {
      std::vector<torch::Tensor> params = first.parameters();
      for (const auto& p : second.parameters()) params.push_back(p);
      return std::make_shared<torch::optim::Adam>(params, torch::optim::AdamOptions(lr).betas({beta1, 0.999}));
    };
    auto names = [](const std::string& a, const nn::Module& ma, const std::string& b, const nn::Module& mb) {
      std::vector<std::string> out = ckpt::qualified_parameter_names(a, ma);
      for (auto& n : ckpt::qualified_parameter_names(b, mb)) out.push_back(std::move(n));
      return out;
    };
    ckpt::Model model;
    model.modules.push_back({"G_A", g_a, [g_a](const torch::Tensor& x) { return g_a->forward(x); }});
    model.modules.push_back({"G_B", g_b, [g_b](const torch::Tensor& x) { return g_b->forward(x); }});
    model.modules.push_back({"D_A", d_a, [d_a](const torch::Tensor& x) { return d_a->forward(x); }});
    model.modules.push_back({"D_B", d_b, [d_b](const torch::Tensor& x) { return d_b->forward(x); }});
    model.optimizers.push_back({"optimizer_G", names("G_A", *g_a, "G_B", *g_b), adam(*g_a, *g_b)});
    model.optimizers.push_back({"optimizer_D", names("D_A", *d_a, "D_B", *d_b), adam(*d_a, *d_b)});
    return model;
  }

  // Images in [-1, 1] of the domain the module reads: A (input_nc) for G_A and D_B, B
  // (output_nc) for G_B and D_A.
  torch::Tensor sample_input(const ckpt::Model& model, const std::string& module, std::int64_t batch) const override {
    const Settings& s = generator(model, 0).settings;
    std::int64_t channels = 0;
    if (module == "G_A" || module == "D_B") channels = s.input_nc;
    if (module == "G_B" || module == "D_A") channels = s.output_nc;
    if (channels == 0) return {};
    torch::manual_seed(1234);
    return torch::rand({batch, channels, s.image_size, s.image_size}) * 2 - 1;
  }

  // CycleGANModel.optimize_parameters on one batch of random A and B images: G_A and G_B
  // (LSGAN adversarial losses, L1 cycle losses x lambda_A / lambda_B, identity losses x
  // lambda_identity when both domains have the same channels) with D_A and D_B frozen, then
  // D_A and D_B ((real + fake) * 0.5 each). No image pool: while it fills (its first 50
  // images) it hands back the current fakes anyway.
  bool train_step(ckpt::Model& model, std::int64_t step) const override {
    auto& g_a = model.modules.at(0);
    auto& g_b = model.modules.at(1);
    auto& d_a = model.modules.at(2);
    auto& d_b = model.modules.at(3);
    auto& opt_g = *model.optimizers.at(0).optimizer;
    auto& opt_d = *model.optimizers.at(1).optimizer;
    const Settings& s = generator(model, 0).settings;
    const std::int64_t batch = 2;
    torch::manual_seed(100 + step);
    const torch::Tensor real_a = torch::rand({batch, s.input_nc, s.image_size, s.image_size}) * 2 - 1;
    const torch::Tensor real_b = torch::rand({batch, s.output_nc, s.image_size, s.image_size}) * 2 - 1;
    const auto gan_loss = [](const torch::Tensor& prediction, bool real) {
      return torch::nn::functional::mse_loss(prediction, torch::full_like(prediction, real ? 1.0 : 0.0));
    };
    const auto l1 = [](const torch::Tensor& a, const torch::Tensor& b) { return torch::nn::functional::l1_loss(a, b); };
    const auto set_requires_grad = [](ckpt::Module& m, bool on) {
      for (auto& p : m.module->parameters()) p.set_requires_grad(on);
    };

    const torch::Tensor fake_b = g_a.forward(real_a);
    const torch::Tensor rec_a = g_b.forward(fake_b);
    const torch::Tensor fake_a = g_b.forward(real_b);
    const torch::Tensor rec_b = g_a.forward(fake_a);

    set_requires_grad(d_a, false);
    set_requires_grad(d_b, false);
    opt_g.zero_grad();
    // backward_G: identity losses first (their forwards come before the discriminators').
    torch::Tensor loss_idt_a = torch::zeros({}), loss_idt_b = torch::zeros({});
    if (s.lambda_identity > 0 && s.input_nc == s.output_nc) {
      loss_idt_a = l1(g_a.forward(real_b), real_b) * s.lambda_b * s.lambda_identity;
      loss_idt_b = l1(g_b.forward(real_a), real_a) * s.lambda_a * s.lambda_identity;
    }
    const torch::Tensor loss_g_a = gan_loss(d_a.forward(fake_b), true);
    const torch::Tensor loss_g_b = gan_loss(d_b.forward(fake_a), true);
    const torch::Tensor loss_cycle_a = l1(rec_a, real_a) * s.lambda_a;
    const torch::Tensor loss_cycle_b = l1(rec_b, real_b) * s.lambda_b;
    torch::Tensor loss_g = loss_g_a + loss_g_b + loss_cycle_a + loss_cycle_b + loss_idt_a + loss_idt_b;
    loss_g.backward();
    opt_g.step();
    set_requires_grad(d_a, true);
    set_requires_grad(d_b, true);

    // backward_D_basic: real first, then fake, in separate statements (the operands of `+`
    // have no evaluation order, and batch-norm statistics depend on it).
    opt_d.zero_grad();
    const torch::Tensor loss_d_a_real = gan_loss(d_a.forward(real_b), true);
    const torch::Tensor loss_d_a_fake = gan_loss(d_a.forward(fake_b.detach()), false);
    torch::Tensor loss_d_a = (loss_d_a_real + loss_d_a_fake) * 0.5;
    loss_d_a.backward();
    const torch::Tensor loss_d_b_real = gan_loss(d_b.forward(real_a), true);
    const torch::Tensor loss_d_b_fake = gan_loss(d_b.forward(fake_a.detach()), false);
    torch::Tensor loss_d_b = (loss_d_b_real + loss_d_b_fake) * 0.5;
    loss_d_b.backward();
    opt_d.step();
    return true;
  }

 private:
  static const CycleGanGeneratorImpl& generator(const ckpt::Model& model, std::size_t index) {
    const auto g = std::dynamic_pointer_cast<CycleGanGeneratorImpl>(model.modules.at(index).module);
    if (!g) throw std::logic_error("cyclegan: module " + std::to_string(index) + " is not a ResnetGenerator");
    return *g;
  }

  CycleGanVersion version_;
};
}  // namespace
