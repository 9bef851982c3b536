// SN-GAN version 3.0.0: 2.0.0 without spectral norm on the discriminator's output linear
// (it over-constrained the critic's scale; the convolutions and the projection embedding
// keep theirs). Its state linear.bias, linear.weight_orig, linear.weight_u, linear.weight_v
// becomes linear.weight, linear.bias: the weight is renamed (missing `linear.weight`,
// unexpected `linear.weight_orig/_u/_v` when a 1.x/2.x checkpoint loads), and the
// discriminator's parameter order changes from (bias, weight_orig) to (weight, bias) there,
// so Adam's per-parameter state of 1.x/2.x no longer lines up (shapes [1] vs [1, cd]).
#include "sngan_model.hpp"

namespace {
struct SnganV3 : Sngan {
  SnganV3() : Sngan(SnganVersion{/*n_classes=*/20, /*sn_output=*/false}) {}
};
}  // namespace

CKPT_PLUGIN(SnganV3, "sngan", "3.0.0",
            "Conditional SNGAN, v3: 20 classes, the discriminator's output linear without spectral norm")
