// CycleGAN version 1.0.0: the model of junyanz/pytorch-CycleGAN-and-pix2pix with
// --netG resnet_6blocks --netD basic --norm instance: ResnetGenerators of 6 residual blocks
// (model.10 ... model.15), 3-layer PatchGAN discriminators, instance norm without state.
#include "cyclegan_model.hpp"

namespace {
struct CycleGanV1 : CycleGan {
  CycleGanV1() : CycleGan(CycleGanVersion{/*default_blocks=*/6, /*batch_norm=*/false}) {}
};
}  // namespace

CKPT_PLUGIN(CycleGanV1, "cyclegan", "1.0.0",
            "CycleGAN of pytorch-CycleGAN-and-pix2pix: ResnetGenerator G_A/G_B (6 blocks, instance norm), PatchGAN D_A/D_B, Adam")
