// pix2pix version 2.0.0: instance norm instead of batch norm (--norm instance) in both
// networks. Every norm layer loses its state (weight, bias, running_mean, running_var,
// num_batches_tracked), and the convolutions in front of a norm gain a bias (networks.py:
// use_bias only with InstanceNorm2d). No key changes shape: a 1.x checkpoint has norm state
// with no place and lacks the biases; a relaxed load of one leaves no layer at
// initialisation but every norm changed kind.
#include "pix2pix_model.hpp"

namespace {
struct Pix2PixV2 : Pix2Pix {
  Pix2PixV2() : Pix2Pix(Pix2PixVersion{Pix2PixVersion::Generator::kUnet256, /*batch_norm=*/false}) {}
};
}  // namespace

CKPT_PLUGIN(Pix2PixV2, "pix2pix", "2.0.0",
            "pix2pix of pytorch-CycleGAN-and-pix2pix, v2: instance norm instead of batch norm (UnetGenerator, PatchGAN)")
