#pragma once
// The networks of junyanz/pytorch-CycleGAN-and-pix2pix (models/networks.py) that its CycleGAN
// and pix2pix models share, each a `model` Sequential (or nested ones) whose keys mirror
// Python's: ResnetGenerator, UnetGenerator (UnetSkipConnectionBlock), the PatchGAN
// NLayerDiscriminator, and init_weights. The project's use_bias rule is kept: a convolution
// followed by a norm layer has a bias only with instance norm.
//
// Header-only and in an unnamed namespace, like the plugins' model headers that include it:
// each plugin library keeps its own copy when several are loaded into one process.
#include <torch/nn/functional/instancenorm.h>  // modules/instancenorm.h needs it first
#include <torch/nn/init.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/instancenorm.h>
#include <torch/nn/modules/padding.h>
#include <torch/nn/pimpl.h>

#include <memory>

namespace {
namespace nn = torch::nn;

// The sizes and layer kinds of one network.
struct NetworkOptions {
  std::int64_t ngf = 64, ndf = 64;
  // false is the project's `--norm instance` (InstanceNorm2d, affine=False,
  // track_running_stats=False: no state); true is `--norm batch` (BatchNorm2d, affine, with
  // running statistics).
  bool batch_norm = false;
  bool dropout = false;  // use_dropout: Dropout(0.5) in resnet blocks and the unet's middle blocks
};

// Appends the norm layer (named by its position, as in Python).
void append_norm(nn::Sequential& seq, const NetworkOptions& o, std::int64_t channels) {
  if (o.batch_norm) {
    seq->push_back(nn::BatchNorm2d(nn::BatchNorm2dOptions(channels).affine(true).track_running_stats(true)));
  } else {
    seq->push_back(nn::InstanceNorm2d(nn::InstanceNorm2dOptions(channels).affine(false).track_running_stats(false)));
  }
}

// In place, as the project's nn.ReLU(True) / nn.LeakyReLU(0.2, True): a unet block's skip
// connection carries its input after the block's in-place LeakyReLU, as in Python.
nn::ReLU relu() { return nn::ReLU(nn::ReLUOptions(true)); }
nn::LeakyReLU leaky() { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2).inplace(true)); }
nn::ReflectionPad2d pad(std::int64_t p) { return nn::ReflectionPad2d(nn::ReflectionPad2dOptions(p)); }

// ResnetBlock: x + conv_block(x), conv_block = [pad, conv3x3, norm, ReLU, (Dropout,) pad, conv3x3, norm].
struct ResnetBlockImpl : nn::Module {
  nn::Sequential conv_block;
  ResnetBlockImpl(const NetworkOptions& o, std::int64_t dim) {
    const bool bias = !o.batch_norm;
    conv_block->push_back(pad(1));
    conv_block->push_back(nn::Conv2d(nn::Conv2dOptions(dim, dim, 3).bias(bias)));
    append_norm(conv_block, o, dim);
    conv_block->push_back(relu());
    if (o.dropout) conv_block->push_back(nn::Dropout(0.5));
    conv_block->push_back(pad(1));
    conv_block->push_back(nn::Conv2d(nn::Conv2dOptions(dim, dim, 3).bias(bias)));
    append_norm(conv_block, o, dim);
    register_module("conv_block", conv_block);
  }
  torch::Tensor forward(const torch::Tensor& x) { return x + conv_block->forward(x); }
};
TORCH_MODULE(ResnetBlock);

// ResnetGenerator: pad, conv7x7, norm, ReLU; 2 x downsampling; n_blocks ResnetBlocks;
// 2 x upsampling (ConvTranspose2d); pad, conv7x7, Tanh.
struct ResnetGeneratorImpl : nn::Module {
  nn::Sequential model;
  ResnetGeneratorImpl(const NetworkOptions& o, std::int64_t input_nc, std::int64_t output_nc, std::int64_t n_blocks) {
    const bool bias = !o.batch_norm;
    model->push_back(pad(3));
    model->push_back(nn::Conv2d(nn::Conv2dOptions(input_nc, o.ngf, 7).bias(bias)));
    append_norm(model, o, o.ngf);
    model->push_back(relu());
    for (std::int64_t i = 0; i < 2; ++i) {  // downsampling
      const std::int64_t mult = std::int64_t{1} << i;
      model->push_back(nn::Conv2d(nn::Conv2dOptions(o.ngf * mult, o.ngf * mult * 2, 3).stride(2).padding(1).bias(bias)));
      append_norm(model, o, o.ngf * mult * 2);
      model->push_back(relu());
    }
    for (std::int64_t i = 0; i < n_blocks; ++i) model->push_back(ResnetBlock(o, o.ngf * 4));
    for (std::int64_t i = 0; i < 2; ++i) {  // upsampling
      const std::int64_t mult = std::int64_t{1} << (2 - i);
      model->push_back(nn::ConvTranspose2d(
          nn::ConvTranspose2dOptions(o.ngf * mult, o.ngf * mult / 2, 3).stride(2).padding(1).output_padding(1).bias(bias)));
      append_norm(model, o, o.ngf * mult / 2);
      model->push_back(relu());
    }
    model->push_back(pad(3));
    model->push_back(nn::Conv2d(nn::Conv2dOptions(o.ngf, output_nc, 7)));
    model->push_back(nn::Tanh());
    register_module("model", model);
  }
  torch::Tensor forward(const torch::Tensor& x) { return model->forward(x); }
};

// UnetSkipConnectionBlock: down (LeakyReLU, conv4x4 s2, norm), the inner block, up (ReLU,
// ConvTranspose2d 4x4 s2, norm, Dropout), joined to its input along channels. The outermost
// block has no LeakyReLU or norm on the way down, a Tanh on the way up and no skip; the
// innermost no inner block and no norm on the way down.
struct UnetSkipConnectionBlockImpl : nn::Module {
  enum class Place { kOutermost, kMiddle, kInnermost };
  nn::Sequential model;
  bool outermost;
  UnetSkipConnectionBlockImpl(const NetworkOptions& o, std::int64_t outer_nc, std::int64_t inner_nc, std::int64_t input_nc,
                              std::shared_ptr<UnetSkipConnectionBlockImpl> inner, Place place, bool dropout)
      : outermost(place == Place::kOutermost) {
    const bool bias = !o.batch_norm;
    const auto down = nn::Conv2d(nn::Conv2dOptions(input_nc, inner_nc, 4).stride(2).padding(1).bias(bias));
    const auto up = [&](std::int64_t in, bool up_bias) {
      return nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, outer_nc, 4).stride(2).padding(1).bias(up_bias));
    };
    if (place == Place::kOutermost) {
      model->push_back(down);
      model->push_back(inner);
      model->push_back(relu());
      model->push_back(up(inner_nc * 2, true));
      model->push_back(nn::Tanh());
    } else if (place == Place::kInnermost) {
      model->push_back(leaky());
      model->push_back(down);
      model->push_back(relu());
      model->push_back(up(inner_nc, bias));
      append_norm(model, o, outer_nc);
    } else {
      model->push_back(leaky());
      model->push_back(down);
      append_norm(model, o, inner_nc);
      model->push_back(inner);
      model->push_back(relu());
      model->push_back(up(inner_nc * 2, bias));
      append_norm(model, o, outer_nc);
      if (dropout) model->push_back(nn::Dropout(0.5));
    }
    register_module("model", model);
  }
  torch::Tensor forward(torch::Tensor x) {
    if (outermost) return model->forward(x);
    torch::Tensor y = model->forward(x);  // first: its LeakyReLU changes x in place
    return torch::cat({x, y}, 1);
  }
};
TORCH_MODULE(UnetSkipConnectionBlock);

// UnetGenerator(input_nc, output_nc, num_downs): built from the innermost block out, as Python
// does; keys nest model.model.1.model.3. ... one level per block.
struct UnetGeneratorImpl : nn::Module {
  UnetSkipConnectionBlock model{nullptr};
  UnetGeneratorImpl(const NetworkOptions& o, std::int64_t input_nc, std::int64_t output_nc, std::int64_t num_downs) {
    using Place = UnetSkipConnectionBlockImpl::Place;
    const std::int64_t g = o.ngf;
    auto block = UnetSkipConnectionBlock(o, g * 8, g * 8, g * 8, nullptr, Place::kInnermost, false);
    for (std::int64_t i = 0; i < num_downs - 5; ++i) {
      block = UnetSkipConnectionBlock(o, g * 8, g * 8, g * 8, block.ptr(), Place::kMiddle, o.dropout);
    }
    block = UnetSkipConnectionBlock(o, g * 4, g * 8, g * 4, block.ptr(), Place::kMiddle, false);
    block = UnetSkipConnectionBlock(o, g * 2, g * 4, g * 2, block.ptr(), Place::kMiddle, false);
    block = UnetSkipConnectionBlock(o, g, g * 2, g, block.ptr(), Place::kMiddle, false);
    model = register_module("model", UnetSkipConnectionBlock(o, output_nc, g, input_nc, block.ptr(), Place::kOutermost, false));
  }
  torch::Tensor forward(const torch::Tensor& x) { return model->forward(x); }
};

// NLayerDiscriminator (PatchGAN): conv4x4 s2 + LeakyReLU, n_layers-1 x (conv4x4 s2, norm,
// LeakyReLU), conv4x4 s1, norm, LeakyReLU, conv4x4 s1 to one channel.
struct NLayerDiscriminatorImpl : nn::Module {
  nn::Sequential model;
  NLayerDiscriminatorImpl(const NetworkOptions& o, std::int64_t input_nc, std::int64_t n_layers) {
    const bool bias = !o.batch_norm;
    auto conv = [](std::int64_t in, std::int64_t out, std::int64_t stride, bool b) {
      return nn::Conv2d(nn::Conv2dOptions(in, out, 4).stride(stride).padding(1).bias(b));
    };
    model->push_back(conv(input_nc, o.ndf, 2, true));
    model->push_back(leaky());
    std::int64_t mult = 1, prev = 1;
    for (std::int64_t n = 1; n < n_layers; ++n) {
      prev = mult;
      mult = std::min<std::int64_t>(std::int64_t{1} << n, 8);
      model->push_back(conv(o.ndf * prev, o.ndf * mult, 2, bias));
      append_norm(model, o, o.ndf * mult);
      model->push_back(leaky());
    }
    prev = mult;
    mult = std::min<std::int64_t>(std::int64_t{1} << n_layers, 8);
    model->push_back(conv(o.ndf * prev, o.ndf * mult, 1, bias));
    append_norm(model, o, o.ndf * mult);
    model->push_back(leaky());
    model->push_back(conv(o.ndf * mult, 1, 1, true));
    register_module("model", model);
  }
  torch::Tensor forward(const torch::Tensor& x) { return model->forward(x); }
};

// init_weights(net, 'normal', 0.02) of networks.py: conv weights ~ N(0, 0.02) and their
// biases 0, BatchNorm2d weights ~ N(1, 0.02) and biases 0; leaves in module order, as
// Python's net.apply visits them.
void init_weights(nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& sub : module.modules(/*include_self=*/false)) {
    const std::string type = sub->name();
    auto params = sub->named_parameters(false);
    if (type.find("Conv") != std::string::npos) {
      nn::init::normal_(params["weight"], 0.0, 0.02);
      if (params.contains("bias")) nn::init::zeros_(params["bias"]);
    } else if (type.find("BatchNorm2d") != std::string::npos) {
      nn::init::normal_(params["weight"], 1.0, 0.02);
      nn::init::zeros_(params["bias"]);
    }
  }
}
}  // namespace
