#!/usr/bin/python3
"""The Python side of the engine benchmarks (ci/bench.sh), run with Debian's python3-torch.

  python_side.py write-dcgan OUT.pt
      a full-size DCGAN checkpoint (nz=100, ngf=64, ndf=64, nc=3, 64x64) in the GAN
      layout, Adam state after one step: what `ckpt-harness diff --plugin dcgan` checks.
  python_side.py check-dcgan FILE
      what a team's Python script does instead of `diff`: build the current model,
      torch.load, load_state_dict(strict=False) for each network, load the optimizers.
  python_side.py time-load-state-dict FILE
      in-process seconds (median of 3) of torch.load + load_state_dict(strict=False) on
      the big benchmark checkpoint (tests/bench/write_gan_checkpoint.py), model built outside
      the timed region.
"""
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "fixtures"))
sys.path.insert(0, HERE)


def dcgan():
    from generate_dcgan import Discriminator, Generator  # the examples' DCGAN
    return Generator(nz=100, ngf=64, nc=3), Discriminator(nc=3, ndf=64)


def write_dcgan(out):
    torch.manual_seed(0)
    G, D = dcgan()
    opts = []
    for net in (G, D):
        opt = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))
        for p in net.parameters():
            p.grad = torch.randn_like(p) * 1e-3
        opt.step()
        opts.append(opt)
    torch.save({"generator": G.state_dict(), "discriminator": D.state_dict(),
                "generator_optimizer": opts[0].state_dict(), "discriminator_optimizer": opts[1].state_dict(),
                "epoch": 25, "loss_g": 3.1, "loss_d": 0.2}, out)


def check_dcgan(path):
    G, D = dcgan()
    ckpt = torch.load(path, map_location="cpu")
    ok = True
    for name, net in (("generator", G), ("discriminator", D)):
        try:
            result = net.load_state_dict(ckpt[name], strict=False)
            ok = ok and not result.missing_keys and not result.unexpected_keys
        except RuntimeError as e:
            print(e)
            ok = False
        opt = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt.load_state_dict(ckpt[name + "_optimizer"])
    print("strictly compatible" if ok else "NOT strictly compatible")


def time_load_state_dict(path):
    from write_gan_checkpoint import network
    gen, disc = network(), network()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        ckpt = torch.load(path, map_location="cpu")
        gen.load_state_dict(ckpt["generator"], strict=False)
        disc.load_state_dict(ckpt["discriminator"], strict=False)
        times.append(time.perf_counter() - start)
        del ckpt
    print(f"{statistics.median(times):.6f}")


if __name__ == "__main__":
    commands = {"write-dcgan": write_dcgan, "check-dcgan": check_dcgan, "time-load-state-dict": time_load_state_dict}
    if len(sys.argv) != 3 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](sys.argv[2])
