// CycleGAN version 2.0.0: the generators grew from 6 to 9 residual blocks (resnet_9blocks,
// the project's default for 256x256 images). Blocks now fill model.10 ... model.18, so the
// layers after them move by 3: the upsampling ConvTranspose2d layers go from model.16 and
// model.19 to model.19 and model.22, the last Conv2d from model.23 to model.26. A 1.x
// checkpoint lacks model.16-18's blocks and model.22/26 (and model.19 has the wrong shape);
// a 2.x checkpoint loaded into 1.x has model.16 and model.23 left over. The discriminators
// are unchanged.
#include "cyclegan_model.hpp"

namespace {
struct CycleGanV2 : CycleGan {
  CycleGanV2() : CycleGan(CycleGanVersion{/*default_blocks=*/9, /*batch_norm=*/false}) {}
};
}  // namespace

CKPT_PLUGIN(CycleGanV2, "cyclegan", "2.0.0",
            "CycleGAN of pytorch-CycleGAN-and-pix2pix, v2: ResnetGenerators of 9 residual blocks (was 6)")
