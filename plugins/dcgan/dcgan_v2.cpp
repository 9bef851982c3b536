// DCGAN version 2.0.0: the generator's first block is twice as wide (ngf*16: main.0, main.1
// and main.3 change shape) and the discriminator has a Dropout(0.3) before its last conv
// (which moves from main.11 to main.12).
#include "dcgan_model.hpp"

namespace {
struct DcganV2 : Dcgan {
  DcganV2() : Dcgan(DcganVersion{/*generator_first_width=*/16, /*discriminator_dropout=*/0.3}) {}
};
}  // namespace

CKPT_PLUGIN(DcganV2, "dcgan", "2.0.0",
            "DCGAN of the PyTorch examples, v2: generator's first block ngf*16 wide, Dropout(0.3) before the discriminator's last conv")
