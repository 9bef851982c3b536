#pragma once
// A conditional, spectral-normalised GAN (SNGAN's "standard CNN" made class-conditional, with
// a projection discriminator, as in Miyato & Koyama 2018 and BigGAN): a generator and a
// discriminator trained with the hinge loss and Adam(betas = (0.0, 0.9)). Sizes are options,
// so the same plugin checks the tiny fixtures and full-size 32x32 checkpoints. Its Python
// twin is fixtures/models/sngan.py; both must stay identical (names, parameter order,
// initialisation, numerics).
//
// Generator, input [B, nz + 1]: z in the first nz columns, the class index (a float holding
// an integer) in the last column. Module::forward takes one tensor, so the label travels in it.
//   embed   Embedding(n_classes, nz)                   h = z * embed(y)
//   linear  Linear(nz, 16 * c0)                        h -> [B, c0, 4, 4], c0 = ngf * 2^k
//   main    BatchNorm2d(c0), ReLU,
//           k x [ConvTranspose2d(c, c/2, 4, 2, 1, bias=false), BatchNorm2d(c/2), ReLU],
//           Conv2d(ngf, nc, 3, 1, 1), Tanh             -> [B, nc, S, S], S = image_size = 4 * 2^k
// Discriminator, input [B, nc + 1, S, S]: the image in the first nc channels, its class index
// repeated over the whole last channel (a constant channel; read at [:, nc, 0, 0]). The
// discriminator never convolves that channel: it only uses it as the label y.
//   main    SN Conv2d(nc, ndf, 3, 1, 1), LeakyReLU(0.1),
//           k x [SN Conv2d(c, 2c, 4, 2, 1), LeakyReLU(0.1)]        -> [B, cd, 4, 4], cd = ndf * 2^k
//   linear  SN Linear(cd, 1) (version dependent)        h = sum of main(x) over H and W
//   embed   SN Embedding(n_classes, cd)                 out = linear(h) + sum(embed(y) * h, 1)  [B, 1]
// A golden file records inputs packed the same way (fixtures/generate_sngan.py).
//
// Spectral norm is torch.nn.utils.spectral_norm of PyTorch 1.13 (LibTorch has none): the layer
// holds `bias` and `weight_orig` as parameters (in that order: spectral_norm deletes `weight`
// and re-registers `weight_orig` after the bias) and `weight_u`, `weight_v` as buffers, and no
// `weight`. Each training-mode forward runs one power iteration without grad that updates u
// and v in place (v = normalize(W^T u), u = normalize(W v), eps 1e-12); then sigma = u . (W v)
// with clones of u and v, and weight = weight_orig / sigma. In eval mode u and v are used as
// stored, so eval forwards are deterministic and reproduce golden outputs.
//
// One model, several versions: each plugin (sngan_v1.cpp, ...) passes an SnganVersion to Sngan
// and exports it with CKPT_PLUGIN. Every plugin includes this header from exactly one
// translation unit; the unnamed namespace keeps each library's copy its own.
#include <ckpt/plugin.hpp>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/normalization.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <ATen/ATen.h>

namespace {
namespace nn = torch::nn;

// What changed between versions of the model; everything else is shared.
struct SnganVersion {
  std::int64_t n_classes;  // 1.x: 10, from 2.0: 20 (the `n_classes` option overrides it)
  bool sn_output;          // the discriminator's output linear is spectral-normalised (until 3.0)
};

struct Sizes {
  std::int64_t nz, ngf, ndf, nc, image_size, n_classes;
  std::int64_t blocks;  // k: image_size = 4 * 2^k
};

constexpr double kSnEps = 1e-12;
constexpr double kLeak = 0.1;
constexpr std::int64_t kTrainBatch = 4;
constexpr std::uint64_t kSampleSeed = 1234;
constexpr std::uint64_t kTrainSeed = 100;

torch::Tensor l2_normalize(const torch::Tensor& t) {
  return nn::functional::normalize(t, nn::functional::NormalizeFuncOptions().p(2).dim(0).eps(kSnEps));
}

// The state torch.nn.utils.spectral_norm leaves on a layer, and its weight computation.
class SpectralNormed : public nn::Module {
 public:
  torch::Tensor bias, weight_orig, weight_u, weight_v;

  // weight_orig ~ xavier_uniform, bias 0, then u and v ~ N(0, 1) normalised (RNG already seeded).
  void reset_spectral() {
    torch::NoGradGuard no_grad;
    nn::init::xavier_uniform_(weight_orig);
    if (bias.defined()) nn::init::zeros_(bias);
    weight_u.normal_(0, 1);
    weight_u.copy_(l2_normalize(weight_u));
    weight_v.normal_(0, 1);
    weight_v.copy_(l2_normalize(weight_v));
  }

  // SpectralNorm.compute_weight(module, do_power_iteration=is_training()), dim 0.
  torch::Tensor weight() {
    const torch::Tensor weight_mat = weight_orig.reshape({weight_orig.size(0), -1});
    torch::Tensor u = weight_u, v = weight_v;
    if (is_training()) {
      {
        torch::NoGradGuard no_grad;
        weight_v.copy_(l2_normalize(torch::mv(weight_mat.t(), weight_u)));
        weight_u.copy_(l2_normalize(torch::mv(weight_mat, weight_v)));
      }
      // Clones, so a second forward's update does not break the first one's backward.
      u = weight_u.clone(torch::MemoryFormat::Contiguous);
      v = weight_v.clone(torch::MemoryFormat::Contiguous);
    }
    const torch::Tensor sigma = torch::dot(u, torch::mv(weight_mat, v));
    return weight_orig / sigma;
  }

 protected:
  SpectralNormed(const std::string& type, std::vector<std::int64_t> weight_shape, std::int64_t bias_size)
      : nn::Module(type) {
    // Python's order: `bias` (left from the layer), then `weight_orig`; buffers u, then v.
    if (bias_size > 0) bias = register_parameter("bias", torch::zeros({bias_size}));
    weight_orig = register_parameter("weight_orig", torch::zeros(weight_shape));
    std::int64_t width = 1;
    for (std::size_t i = 1; i < weight_shape.size(); ++i) width *= weight_shape[i];
    weight_u = register_buffer("weight_u", l2_normalize(torch::ones({weight_shape.at(0)})));
    weight_v = register_buffer("weight_v", l2_normalize(torch::ones({width})));
  }
};

// spectral_norm(nn.Conv2d(in, out, kernel, stride, padding)): zero padding, with bias.
class SNConv2dImpl : public SpectralNormed {
 public:
  SNConv2dImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t padding)
      : SpectralNormed("SNConv2d", {out, in, kernel, kernel}, out), stride_(stride), padding_(padding) {}
  torch::Tensor forward(const torch::Tensor& x) { return at::conv2d(x, weight(), bias, {stride_, stride_}, {padding_, padding_}); }

 private:
  std::int64_t stride_, padding_;
};
TORCH_MODULE(SNConv2d);

// spectral_norm(nn.Linear(in, out)).
class SNLinearImpl : public SpectralNormed {
 public:
  SNLinearImpl(std::int64_t in, std::int64_t out) : SpectralNormed("SNLinear", {out, in}, out) {}
  torch::Tensor forward(const torch::Tensor& x) { return at::linear(x, weight(), bias); }
};
TORCH_MODULE(SNLinear);

// spectral_norm(nn.Embedding(n, dim)): no bias; u has n elements, v dim.
class SNEmbeddingImpl : public SpectralNormed {
 public:
  SNEmbeddingImpl(std::int64_t n, std::int64_t dim) : SpectralNormed("SNEmbedding", {n, dim}, 0) {}
  torch::Tensor forward(const torch::Tensor& indices) { return at::embedding(weight(), indices); }
};
TORCH_MODULE(SNEmbedding);

nn::ReLU relu() { return nn::ReLU(nn::ReLUOptions(true)); }
nn::LeakyReLU leaky() { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(kLeak).inplace(true)); }

nn::Sequential generator_layers(const Sizes& s, std::int64_t c0) {
  nn::Sequential main(nn::BatchNorm2d(c0), relu());
  std::int64_t c = c0;
  for (std::int64_t i = 0; i < s.blocks; ++i, c /= 2) {
    main->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(c, c / 2, 4).stride(2).padding(1).bias(false)));
    main->push_back(nn::BatchNorm2d(c / 2));
    main->push_back(relu());
  }
  main->push_back(nn::Conv2d(nn::Conv2dOptions(c, s.nc, 3).stride(1).padding(1)));
  main->push_back(nn::Tanh());
  return main;
}

nn::Sequential discriminator_layers(const Sizes& s) {
  nn::Sequential main(SNConv2d(s.nc, s.ndf, 3, 1, 1), leaky());
  std::int64_t c = s.ndf;
  for (std::int64_t i = 0; i < s.blocks; ++i, c *= 2) {
    main->push_back(SNConv2d(c, 2 * c, 4, 2, 1));
    main->push_back(leaky());
  }
  return main;
}

struct GeneratorImpl : nn::Module {
  nn::Embedding embed;
  nn::Linear linear;
  nn::Sequential main;
  // Kept so that sample_input and the training step do not depend on layer positions.
  Sizes sizes;
  std::int64_t c0;
  explicit GeneratorImpl(const Sizes& s)
      : nn::Module("Generator"),
        embed(s.n_classes, s.nz),
        linear(s.nz, 16 * s.ngf * (std::int64_t{1} << s.blocks)),
        sizes(s),
        c0(s.ngf * (std::int64_t{1} << s.blocks)) {
    main = generator_layers(s, c0);
    register_module("embed", embed);
    register_module("linear", linear);
    register_module("main", main);
  }
  torch::Tensor forward(const torch::Tensor& input) {
    const torch::Tensor z = input.narrow(1, 0, sizes.nz);
    const torch::Tensor y = input.select(1, sizes.nz).to(torch::kLong);
    return main->forward(linear->forward(z * embed->forward(y)).view({-1, c0, 4, 4}));
  }
};

struct DiscriminatorImpl : nn::Module {
  nn::Sequential main;
  SNLinear sn_linear{nullptr};  // registered as "linear" while the version normalises it ...
  nn::Linear linear{nullptr};   // ... and this one from then on
  SNEmbedding embed;
  std::int64_t nc;
  DiscriminatorImpl(const Sizes& s, const SnganVersion& v)
      : nn::Module("Discriminator"),
        main(discriminator_layers(s)),
        embed(s.n_classes, s.ndf * (std::int64_t{1} << s.blocks)),
        nc(s.nc) {
    const std::int64_t cd = s.ndf * (std::int64_t{1} << s.blocks);
    register_module("main", main);
    if (v.sn_output) {
      sn_linear = register_module("linear", SNLinear(cd, 1));
    } else {
      linear = register_module("linear", nn::Linear(cd, 1));
    }
    register_module("embed", embed);
  }
  torch::Tensor forward(const torch::Tensor& input) {
    const torch::Tensor x = input.narrow(1, 0, nc);
    const torch::Tensor y = input.select(1, nc).select(1, 0).select(1, 0).to(torch::kLong);
    const torch::Tensor h = main->forward(x).sum({2, 3});
    const torch::Tensor out = sn_linear.is_empty() ? linear->forward(h) : sn_linear->forward(h);
    return out + (embed->forward(y) * h).sum(1, /*keepdim=*/true);
  }
};

// The twin's init_weights, in named_modules() order (the RNG is seeded by the caller).
void init_weights(nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& sub : module.modules(/*include_self=*/false)) {
    if (auto* sn = dynamic_cast<SpectralNormed*>(sub.get())) {
      sn->reset_spectral();
    } else if (auto* e = sub->as<nn::Embedding>()) {
      nn::init::normal_(e->weight, 0.0, 1.0);
    } else if (auto* l = sub->as<nn::Linear>()) {
      nn::init::xavier_uniform_(l->weight);
      if (l->bias.defined()) nn::init::zeros_(l->bias);
    } else if (auto* c = sub->as<nn::Conv2d>()) {
      nn::init::xavier_uniform_(c->weight);
      if (c->bias.defined()) nn::init::zeros_(c->bias);
    } else if (auto* t = sub->as<nn::ConvTranspose2d>()) {
      nn::init::xavier_uniform_(t->weight);
      if (t->bias.defined()) nn::init::zeros_(t->bias);
    } else if (auto* b = sub->as<nn::BatchNorm2d>()) {
      nn::init::ones_(b->weight);
      nn::init::zeros_(b->bias);
    }
  }
}

torch::Tensor pack_generator_input(const torch::Tensor& z, const torch::Tensor& y) {
  return torch::cat({z, y.to(z.scalar_type()).view({-1, 1})}, 1);
}

torch::Tensor pack_discriminator_input(const torch::Tensor& x, const torch::Tensor& y) {
  const std::int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  return torch::cat({x, y.to(x.scalar_type()).view({b, 1, 1, 1}).expand({b, 1, h, w})}, 1);
}

class Sngan : public ckpt::Architecture {
 public:
  explicit Sngan(const SnganVersion& version) : version_(version) {}

  ckpt::Model build(const ckpt::Options& options) const override {
    ckpt::check_known_options(options, {"nz", "ngf", "ndf", "nc", "n_classes", "image_size", "lr", "seed"});
    Sizes s{ckpt::option_int(options, "nz", 128, 1, 4096),
            ckpt::option_int(options, "ngf", 64, 1, 4096),
            ckpt::option_int(options, "ndf", 64, 1, 4096),
            ckpt::option_int(options, "nc", 3, 1, 64),
            ckpt::option_int(options, "image_size", 32, 8, 1024),
            ckpt::option_int(options, "n_classes", version_.n_classes, 1, 100000),
            0};
    while ((std::int64_t{4} << s.blocks) < s.image_size) ++s.blocks;
    if ((std::int64_t{4} << s.blocks) != s.image_size) {
      throw ckpt::OptionError("option 'image_size' is '" + options.at("image_size") +
                              "': expected 4 * 2^k with k >= 1 (8, 16, 32, 64, ...)");
    }
    const double lr = ckpt::option_double(options, "lr", 2e-4);
    const auto seed = static_cast<std::uint64_t>(ckpt::option_int(options, "seed", 0, 0, INT64_MAX));

    auto generator = std::make_shared<GeneratorImpl>(s);
    auto discriminator = std::make_shared<DiscriminatorImpl>(s, version_);
    torch::manual_seed(seed);
    init_weights(*generator);
    init_weights(*discriminator);
    auto adam = [&](const nn::Module& m) {
      return std::make_shared<torch::optim::Adam>(m.parameters(), torch::optim::AdamOptions(lr).betas({0.0, 0.9}));
    };
    ckpt::Model model;
    model.modules.push_back({"generator", generator, [generator](const torch::Tensor& x) { return generator->forward(x); }});
    model.modules.push_back(
        {"discriminator", discriminator, [discriminator](const torch::Tensor& x) { return discriminator->forward(x); }});
    model.optimizers.push_back({"generator_optimizer", ckpt::qualified_parameter_names("generator", *generator), adam(*generator)});
    model.optimizers.push_back({"discriminator_optimizer", ckpt::qualified_parameter_names("discriminator", *discriminator), adam(*discriminator)});
    return model;
  }

  // Packed inputs (see the top of this file) with valid class indices.
  torch::Tensor sample_input(const ckpt::Model& model, const std::string& module, std::int64_t batch) const override {
    const Sizes& s = generator_of(model).sizes;
    torch::manual_seed(kSampleSeed);
    if (module == "generator") {
      const torch::Tensor z = torch::randn({batch, s.nz});
      return pack_generator_input(z, torch::randint(0, s.n_classes, {batch}));
    }
    if (module == "discriminator") {
      const torch::Tensor x = torch::randn({batch, s.nc, s.image_size, s.image_size});
      return pack_discriminator_input(x, torch::randint(0, s.n_classes, {batch}));
    }
    return {};
  }

  // One hinge-loss step, D then G, on a batch drawn after manual_seed(100 + step): the
  // twin's train_step exactly.
  bool train_step(ckpt::Model& model, std::int64_t step) const override {
    auto& g = model.modules.at(0);
    auto& d = model.modules.at(1);
    auto& opt_g = *model.optimizers.at(0).optimizer;
    auto& opt_d = *model.optimizers.at(1).optimizer;
    const Sizes& s = generator_of(model).sizes;
    g.module->train();
    d.module->train();
    torch::manual_seed(kTrainSeed + static_cast<std::uint64_t>(step));
    const torch::Tensor real = torch::rand({kTrainBatch, s.nc, s.image_size, s.image_size}) * 2 - 1;
    const torch::Tensor y_real = torch::randint(0, s.n_classes, {kTrainBatch});
    const torch::Tensor z = torch::randn({kTrainBatch, s.nz});
    const torch::Tensor y_fake = torch::randint(0, s.n_classes, {kTrainBatch});

    opt_d.zero_grad();
    const torch::Tensor fake = g.forward(pack_generator_input(z, y_fake));
    const torch::Tensor d_real = d.forward(pack_discriminator_input(real, y_real));
    const torch::Tensor d_fake = d.forward(pack_discriminator_input(fake.detach(), y_fake));
    torch::Tensor loss_d = torch::relu(1.0 - d_real).mean() + torch::relu(1.0 + d_fake).mean();
    loss_d.backward();
    opt_d.step();

    opt_g.zero_grad();
    torch::Tensor loss_g = -d.forward(pack_discriminator_input(fake, y_fake)).mean();
    loss_g.backward();
    opt_g.step();
    return true;
  }

 private:
  static const GeneratorImpl& generator_of(const ckpt::Model& model) {
    return *std::dynamic_pointer_cast<GeneratorImpl>(model.modules.at(0).module);
  }

  SnganVersion version_;
};
}  // namespace
