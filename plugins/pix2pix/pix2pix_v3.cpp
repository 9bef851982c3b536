// pix2pix version 3.0.0: the generator becomes a ResnetGenerator of 9 blocks (--netG
// resnet_9blocks, with dropout: each block's second convolution is conv_block.6), instance
// norm kept from 2.0.0. No generator key of an earlier checkpoint has a place (model.model.*
// against model.*); the discriminator is 2.0.0's.
#include "pix2pix_model.hpp"

namespace {
struct Pix2PixV3 : Pix2Pix {
  Pix2PixV3() : Pix2Pix(Pix2PixVersion{Pix2PixVersion::Generator::kResnet9Blocks, /*batch_norm=*/false}) {}
};
}  // namespace

CKPT_PLUGIN(Pix2PixV3, "pix2pix", "3.0.0",
            "pix2pix of pytorch-CycleGAN-and-pix2pix, v3: ResnetGenerator G (resnet_9blocks, dropout), instance norm")
