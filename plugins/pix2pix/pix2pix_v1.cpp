// pix2pix version 1.0.0: the project's defaults, --netG unet_256 --netD basic --norm batch with
// dropout: a UnetGenerator of 8 levels (keys nest model.model.1.model.3. ... one level per
// block) and a 3-layer PatchGAN over 6 channels, batch norm with running statistics.
#include "pix2pix_model.hpp"

namespace {
struct Pix2PixV1 : Pix2Pix {
  Pix2PixV1() : Pix2Pix(Pix2PixVersion{Pix2PixVersion::Generator::kUnet256, /*batch_norm=*/true}) {}
};
}  // namespace

CKPT_PLUGIN(Pix2PixV1, "pix2pix", "1.0.0",
            "pix2pix of pytorch-CycleGAN-and-pix2pix: UnetGenerator G (unet_256, batch norm), conditional PatchGAN D, Adam")
