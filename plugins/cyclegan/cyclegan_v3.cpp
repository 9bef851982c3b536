// CycleGAN version 3.0.0: the norm layers change from instance norm to batch norm
// (--norm batch: BatchNorm2d, affine, with running statistics) in all four networks; the
// 9 residual blocks of 2.0.0 stay. Every norm layer gains weight, bias, running_mean,
// running_var and num_batches_tracked, and the convolutions in front of a norm lose their
// bias (networks.py: use_bias only with InstanceNorm2d); the first and the last convolution
// of each discriminator and the generators' last convolution keep theirs. No key of a
// 2.x checkpoint changes shape, but none of its norm layers has state and its conv biases
// have no place; a 3.x checkpoint in 2.x is the reverse.
#include "cyclegan_model.hpp"

namespace {
struct CycleGanV3 : CycleGan {
  CycleGanV3() : CycleGan(CycleGanVersion{/*default_blocks=*/9, /*batch_norm=*/true}) {}
};
}  // namespace

CKPT_PLUGIN(CycleGanV3, "cyclegan", "3.0.0",
            "CycleGAN of pytorch-CycleGAN-and-pix2pix, v3: BatchNorm2d (running statistics) instead of instance norm, 9 blocks")
