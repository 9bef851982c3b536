// SN-GAN version 2.0.0: trained on 20 classes instead of 10 (the dataset grew). The class
// embeddings get 20 rows: the generator's embed.weight [10, nz] -> [20, nz] and the
// discriminator's embed.weight_orig [10, cd] -> [20, cd] and embed.weight_u [10] -> [20];
// Adam's state for both embedding weights changes shape with them. Everything else is 1.0.0.
#include "sngan_model.hpp"

namespace {
struct SnganV2 : Sngan {
  SnganV2() : Sngan(SnganVersion{/*n_classes=*/20, /*sn_output=*/true}) {}
};
}  // namespace

CKPT_PLUGIN(SnganV2, "sngan", "2.0.0", "Conditional SNGAN, v2: 20 classes (the class embeddings have 20 rows)")
