"""Writes a large, realistic GAN training checkpoint for ci/bench.sh (deterministic).

Usage: /usr/bin/python3 tests/bench/write_gan_checkpoint.py OUT.pt

{'generator', 'discriminator'}: state dicts of BLOCKS x (Conv2d(C, C, 2, bias=False) +
BatchNorm2d(C)): 6 tensors per block, the conv weight 1 MiB of float32 (C = 256).
{'generator_optimizer', 'discriminator_optimizer'}: Adam state after one step (step,
exp_avg, exp_avg_sq per parameter). Plus 'epoch', 'loss_g', 'loss_d'.
With BLOCKS = 60: ~1,800 tensors, ~360 MiB.
"""
import os
import sys

import torch
import torch.nn as nn

BLOCKS = 60
CHANNELS = 256


def network():
    layers = []
    for _ in range(BLOCKS):
        layers += [nn.Conv2d(CHANNELS, CHANNELS, 2, bias=False), nn.BatchNorm2d(CHANNELS), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers)


def adam_after_one_step(net):
    opt = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))
    for p in net.parameters():
        p.grad = torch.randn_like(p) * 1e-3
    opt.step()
    return opt


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: write_gan_checkpoint.py OUT.pt")
    out = sys.argv[1]
    torch.manual_seed(0)
    gen, disc = network(), network()
    opt_g, opt_d = adam_after_one_step(gen), adam_after_one_step(disc)
    checkpoint = {
        "generator": gen.state_dict(),
        "discriminator": disc.state_dict(),
        "generator_optimizer": opt_g.state_dict(),
        "discriminator_optimizer": opt_d.state_dict(),
        "epoch": 42,
        "loss_g": 2.0713,
        "loss_d": 0.4518,
    }
    tmp = out + ".tmp"
    torch.save(checkpoint, tmp)
    os.replace(tmp, out)
    print(f"wrote {out}: {os.path.getsize(out):,} bytes")


if __name__ == "__main__":
    main()
