// DCGAN version 1.0.0: the model of the PyTorch examples as it is.
#include "dcgan_model.hpp"

namespace {
struct DcganV1 : Dcgan {
  DcganV1() : Dcgan(DcganVersion{/*generator_first_width=*/8, /*discriminator_dropout=*/0.0}) {}
};
}  // namespace

CKPT_PLUGIN(DcganV1, "dcgan", "1.0.0", "DCGAN of the PyTorch examples: Generator and Discriminator over `main` Sequentials, Adam")
