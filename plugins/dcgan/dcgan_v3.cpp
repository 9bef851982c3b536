// DCGAN version 3.0.0: the generator of 2.0 (first block ngf*16), and the discriminator's
// classifier split out of its `main` Sequential: the last conv is now the attribute `head`
// (key head.weight; 2.x checkpoints hold it as main.12.weight, 1.x as main.11.weight),
// applied after `main` (which still ends with 2.0's Dropout) and followed by a sigmoid in
// forward. The parameter order is unchanged (head last), so Adam's state maps by position.
#include "dcgan_model.hpp"

namespace {
struct DcganV3 : Dcgan {
  DcganV3()
      : Dcgan(DcganVersion{/*generator_first_width=*/16, /*discriminator_dropout=*/0.3, /*separate_head=*/true}) {}
};
}  // namespace

CKPT_PLUGIN(DcganV3, "dcgan", "3.0.0",
            "DCGAN of the PyTorch examples, v3: v2 with the discriminator's last conv split out of `main` into `head`")
