#pragma once
// The harness's own GAN training step over exported modules, for the resume scenarios of a
// TorchScript model, stated by the gan.* options: which adversarial loss, what the generator
// takes (noise, or images of domain A for a paired model such as pix2pix), what the
// discriminator judges (the generator's output alone, or the generator's input joined to it
// along channels: a conditional discriminator), an L1 term pulling G(A) towards the paired B,
// and the weight of the discriminator's loss. One step: the discriminator on real and
// generated samples, then the generator to fool it, each with its own optimizer. Inputs come
// from a seeded generator, so k steps straight and k1 + (k - k1) steps after a save and load
// agree. Models this does not describe (several generators, cycle terms, labels) export
// their own step (exported_step.hpp).
#include <torch/optim/optimizer.h>

#include <functional>
#include <string>
#include <vector>

namespace ckpt::torchscript {

enum class GanLoss {
  kBce,            // D ends in a sigmoid (DCGAN's example): binary cross-entropy on probabilities
  kNonSaturating,  // D gives logits (BCEWithLogits, pix2pix's "vanilla"): softplus(-D(x)) + softplus(D(G(z)))
  kHinge,          // D gives logits: relu(1 - D(x)) + relu(1 + D(G(z))); G: -D(G(z))
  kLeastSquares,   // LSGAN (CycleGAN's default): (D(x) - 1)^2 + D(G(z))^2; G: (D(G(z)) - 1)^2
};

enum class GeneratorInput {
  kNoise,  // G(z): z of inputs.<generator>'s shape; real samples of inputs.<discriminator>'s shape
  kImage,  // paired (A, B): G(A), A of inputs.<generator>'s shape, B of G's output shape
};

enum class DiscriminatorInput {
  kOutput,          // D(B) and D(G(·))
  kInputAndOutput,  // D(cat(A, B)) and D(cat(A, G(A))) along channels (pix2pix's conditional D)
};

// What the options state about the step.
struct GanRecipe {
  GanLoss loss = GanLoss::kBce;
  GeneratorInput generator_input = GeneratorInput::kNoise;
  DiscriminatorInput discriminator_input = DiscriminatorInput::kOutput;
  double l1 = 0;                    // weight of mean |G(A) - B| in G's loss (pix2pix: lambda_L1 = 100)
  double discriminator_weight = 1;  // D's loss is weight * (real + fake) (pix2pix, CycleGAN: 0.5)

  // Reads one gan.<field> option ("loss", "generator_input", ...); false when `field` is not
  // one of the recipe's. Throws ckpt::OptionError naming `option` for a bad value.
  bool set(const std::string& field, const std::string& option, const std::string& value);
  // Throws ckpt::OptionError for fields that contradict each other.
  void check() const;
  // "gan.loss = hinge, gan.generator_input = image, ...": for messages.
  std::string text() const;
};

struct GanStep {
  GanRecipe recipe;
  std::function<torch::Tensor(const torch::Tensor&)> generator, discriminator;
  std::string generator_name, discriminator_name;  // for messages
  torch::optim::Optimizer* generator_optimizer;
  torch::optim::Optimizer* discriminator_optimizer;
  std::vector<std::int64_t> generator_input_shape, real_shape;  // per sample; real_shape: noise input only
  std::int64_t batch = 4;
};

// Throws std::runtime_error naming the module, the input it was given and the recipe when
// a forward or the loss fails (a TorchScript traceback cut to its cause).
void run_gan_step(const GanStep& gan, std::int64_t step);

}  // namespace ckpt::torchscript
