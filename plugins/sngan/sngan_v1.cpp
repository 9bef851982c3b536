// SN-GAN version 1.0.0: the conditional SNGAN of sngan_model.hpp over 10 classes (CIFAR-10):
// spectral norm on every discriminator layer (convolutions, output linear, projection embedding).
#include "sngan_model.hpp"

namespace {
struct SnganV1 : Sngan {
  SnganV1() : Sngan(SnganVersion{/*n_classes=*/10, /*sn_output=*/true}) {}
};
}  // namespace

CKPT_PLUGIN(SnganV1, "sngan", "1.0.0",
            "Conditional SNGAN: generator with class embedding, spectral-normalised projection discriminator, hinge loss, Adam(0.0, 0.9); 10 classes")
