#include "torchscript/gan_step.hpp"

#include <ckpt/plugin.hpp>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/loss.h>
#include <torch/utils.h>

namespace ckpt::torchscript {

GanLoss parse_gan_loss(const std::string& option, const std::string& text) {
  if (text == "bce") return GanLoss::kBce;
  if (text == "non-saturating") return GanLoss::kNonSaturating;
  if (text == "hinge") return GanLoss::kHinge;
  throw OptionError("option '" + option + "' is '" + text +
                    "': expected bce (a discriminator ending in a sigmoid), non-saturating or hinge (logits)");
}

namespace {
std::vector<std::int64_t> batched(std::int64_t batch, const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> out{batch};
  out.insert(out.end(), shape.begin(), shape.end());
  return out;
}

// The discriminator's loss on real and fake outputs, and the generator's on fake ones.
torch::Tensor discriminator_loss(GanLoss loss, const torch::Tensor& real, const torch::Tensor& fake) {
  namespace F = torch::nn::functional;
  switch (loss) {
    case GanLoss::kBce:
      return F::binary_cross_entropy(real, torch::ones_like(real)) + F::binary_cross_entropy(fake, torch::zeros_like(fake));
    case GanLoss::kNonSaturating: return F::softplus(-real).mean() + F::softplus(fake).mean();
    case GanLoss::kHinge: return torch::relu(1 - real).mean() + torch::relu(1 + fake).mean();
  }
  return {};
}

torch::Tensor generator_loss(GanLoss loss, const torch::Tensor& fake) {
  namespace F = torch::nn::functional;
  switch (loss) {
    case GanLoss::kBce: return F::binary_cross_entropy(fake, torch::ones_like(fake));  // any output shape (patches too)
    case GanLoss::kNonSaturating: return F::softplus(-fake).mean();
    case GanLoss::kHinge: return -fake.mean();
  }
  return {};
}
}  // namespace

void run_gan_step(const GanStep& gan, std::int64_t step) {
  torch::manual_seed(100 + step);
  const torch::Tensor images = torch::randn(batched(gan.batch, gan.image_shape)).tanh();
  const torch::Tensor noise = torch::randn(batched(gan.batch, gan.noise_shape));
  gan.discriminator_optimizer->zero_grad();
  const torch::Tensor fake = gan.generator(noise);
  torch::Tensor loss_d = discriminator_loss(gan.loss, gan.discriminator(images), gan.discriminator(fake.detach()));
  loss_d.backward();
  gan.discriminator_optimizer->step();
  gan.generator_optimizer->zero_grad();
  torch::Tensor loss_g = generator_loss(gan.loss, gan.discriminator(fake));
  loss_g.backward();
  gan.generator_optimizer->step();
}

}  // namespace ckpt::torchscript
