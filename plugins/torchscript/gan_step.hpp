#pragma once
// One deterministic GAN training step over exported modules, for the resume scenarios of
// a TorchScript model: the discriminator on real and generated images, then the generator
// to fool it, each with its own optimizer. Real images and noise come from a seeded
// generator, so k steps straight and k1 + (k - k1) steps after a save and load must agree.
#include <torch/optim/optimizer.h>

#include <functional>
#include <string>
#include <vector>

namespace ckpt::torchscript {

enum class GanLoss {
  kBce,            // D ends in a sigmoid (DCGAN's example): binary cross-entropy on probabilities
  kNonSaturating,  // D gives logits: softplus(-D(x)) + softplus(D(G(z))); G: softplus(-D(G(z)))
  kHinge,          // D gives logits: relu(1 - D(x)) + relu(1 + D(G(z))); G: -D(G(z))
};

// "bce", "non-saturating", "hinge"; throws ckpt::OptionError naming `option` otherwise.
GanLoss parse_gan_loss(const std::string& option, const std::string& text);

struct GanStep {
  GanLoss loss;
  std::function<torch::Tensor(const torch::Tensor&)> generator, discriminator;
  torch::optim::Optimizer* generator_optimizer;
  torch::optim::Optimizer* discriminator_optimizer;
  std::vector<std::int64_t> noise_shape, image_shape;  // per sample
  std::int64_t batch = 4;
};

void run_gan_step(const GanStep& gan, std::int64_t step);

}  // namespace ckpt::torchscript
