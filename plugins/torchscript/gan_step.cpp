#include "torchscript/gan_step.hpp"

#include <ckpt/plugin.hpp>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/loss.h>
#include <torch/utils.h>

#include <sstream>

#include "torchscript/scripted_module.hpp"

namespace ckpt::torchscript {

namespace {
const char* const kLosses[] = {"bce", "non-saturating", "hinge", "lsgan"};

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

double weight(const std::string& option, const std::string& value) {
  const double w = ckpt::option_double({{option, value}}, option, 0);
  if (!(w >= 0)) throw OptionError("option '" + option + "' is '" + value + "': expected a weight >= 0");
  return w;
}

std::string shape_text(at::IntArrayRef sizes) {
  std::string out = "[";
  for (std::size_t i = 0; i < sizes.size(); ++i) out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + "]";
}

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
    case GanLoss::kLeastSquares: return F::mse_loss(real, torch::ones_like(real)) + F::mse_loss(fake, torch::zeros_like(fake));
  }
  return {};
}

torch::Tensor generator_loss(GanLoss loss, const torch::Tensor& fake) {
  namespace F = torch::nn::functional;
  switch (loss) {
    case GanLoss::kBce: return F::binary_cross_entropy(fake, torch::ones_like(fake));  // any output shape (patches too)
    case GanLoss::kNonSaturating: return F::softplus(-fake).mean();
    case GanLoss::kHinge: return -fake.mean();
    case GanLoss::kLeastSquares: return F::mse_loss(fake, torch::ones_like(fake));
  }
  return {};
}
}  // namespace

bool GanRecipe::set(const std::string& field, const std::string& option, const std::string& value) {
  if (field == "loss") {
    for (std::size_t i = 0; i < std::size(kLosses); ++i) {
      if (value == kLosses[i]) {
        loss = static_cast<GanLoss>(i);
        return true;
      }
    }
    throw OptionError("option '" + option + "' is '" + value +
                      "': expected bce (a discriminator ending in a sigmoid), non-saturating (logits; BCEWithLogits, "
                      "pix2pix's vanilla), hinge (logits) or lsgan (least squares)");
  }
  if (field == "generator_input") {
    if (value != "noise" && value != "image") {
      throw OptionError("option '" + option + "' is '" + value +
                        "': expected noise (G(z)) or image (a paired model: G(A), trained towards B)");
    }
    generator_input = value == "noise" ? GeneratorInput::kNoise : GeneratorInput::kImage;
    return true;
  }
  if (field == "discriminator_input") {
    if (value != "output" && value != "input+output") {
      throw OptionError("option '" + option + "' is '" + value +
                        "': expected output (D judges G's output) or input+output (D judges G's input and output "
                        "joined along channels, as pix2pix's conditional discriminator)");
    }
    discriminator_input = value == "output" ? DiscriminatorInput::kOutput : DiscriminatorInput::kInputAndOutput;
    return true;
  }
  if (field == "l1") {
    l1 = weight(option, value);
    return true;
  }
  if (field == "discriminator_weight") {
    discriminator_weight = weight(option, value);
    return true;
  }
  return false;
}

void GanRecipe::check() const {
  if (generator_input == GeneratorInput::kImage) return;
  if (discriminator_input == DiscriminatorInput::kInputAndOutput) {
    throw OptionError("gan.discriminator_input = \"input+output\" needs gan.generator_input = \"image\": with noise there is "
                      "no input image to join to the output");
  }
  if (l1 > 0) {
    throw OptionError("gan.l1 needs gan.generator_input = \"image\": the L1 term pulls G(A) towards its paired B");
  }
}

std::string GanRecipe::text() const {
  std::string out = std::string("gan.loss = ") + kLosses[static_cast<int>(loss)];
  out += generator_input == GeneratorInput::kNoise ? ", gan.generator_input = noise" : ", gan.generator_input = image";
  out += discriminator_input == DiscriminatorInput::kOutput ? ", gan.discriminator_input = output"
                                                             : ", gan.discriminator_input = input+output";
  if (l1 > 0) out += ", gan.l1 = " + number_text(l1);
  if (discriminator_weight != 1) out += ", gan.discriminator_weight = " + number_text(discriminator_weight);
  return out;
}

void run_gan_step(const GanStep& gan, std::int64_t step) {
  const GanRecipe& r = gan.recipe;
  // Runs one part of the step; a failure says which, on what, under which recipe.
  const auto guarded = [&](const std::string& what, const auto& f) {
    try {
      return f();
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {  // c10::Error, or the TorchScript interpreter's JITException
      throw std::runtime_error("the training step (" + r.text() + ") failed: " + what + ": " + error_cause(e) +
                               ". Is that how the model trains? Set gan.generator_input / gan.discriminator_input as its "
                               "training loop forms them, or export the model's own step (gan.step)");
    }
  };
  const auto forward = [&](const std::string& name, const auto& module, const torch::Tensor& input) {
    return guarded(name + "'s forward on " + shape_text(input.sizes()), [&] { return module(input); });
  };

  torch::manual_seed(100 + step);
  const bool paired = r.generator_input == GeneratorInput::kImage;
  torch::Tensor real = paired ? torch::Tensor() : torch::randn(batched(gan.batch, gan.real_shape)).tanh();
  const torch::Tensor input = paired ? torch::randn(batched(gan.batch, gan.generator_input_shape)).tanh()
                                     : torch::randn(batched(gan.batch, gan.generator_input_shape));
  const torch::Tensor fake = forward(gan.generator_name, gan.generator, input);
  if (paired) real = torch::randn(fake.sizes()).tanh();  // B, the pair of A: shaped as G's output
  // What the discriminator judges of a sample, as the recipe forms it.
  const auto judged = [&](const torch::Tensor& sample) {
    if (r.discriminator_input == DiscriminatorInput::kOutput) return sample;
    return guarded("joining " + gan.generator_name + "'s input " + shape_text(input.sizes()) + " and a sample " +
                       shape_text(sample.sizes()) + " along channels",
                   [&] { return torch::cat({input, sample}, 1); });
  };

  gan.discriminator_optimizer->zero_grad();
  const torch::Tensor d_real = forward(gan.discriminator_name, gan.discriminator, judged(real));
  const torch::Tensor d_fake = forward(gan.discriminator_name, gan.discriminator, judged(fake.detach()));
  torch::Tensor loss_d = guarded("the discriminator's loss", [&] {
    return discriminator_loss(r.loss, d_real, d_fake) * r.discriminator_weight;
  });
  loss_d.backward();
  gan.discriminator_optimizer->step();

  gan.generator_optimizer->zero_grad();
  const torch::Tensor d_fooled = forward(gan.discriminator_name, gan.discriminator, judged(fake));
  torch::Tensor loss_g = guarded("the generator's loss", [&] {
    torch::Tensor loss = generator_loss(r.loss, d_fooled);
    if (r.l1 > 0) loss = loss + torch::nn::functional::l1_loss(fake, real) * r.l1;
    return loss;
  });
  loss_g.backward();
  gan.generator_optimizer->step();
}

}  // namespace ckpt::torchscript
