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
  python_side.py write-wide-dcgan OUT.pt [NGF]
      a wide DCGAN checkpoint that the dcgan 1.0.0 plugin loads strictly (nz=100,
      ngf=ndf=NGF, default %(ngf)d: about 575 MB), written like write-dcgan; prints its size.
  python_side.py time-resume-load FILE NGF
      in-process seconds (median of 3) of what resuming training does: torch.load +
      load_state_dict(strict=True) for G and D + both Adams' load_state_dict; G, D and
      their Adams are built before each repetition, outside the timed region.
  python_side.py resume-load FILE NGF
      the same once, as a whole process (import torch, build, load, exit): what
      `ckpt-harness run` with strict-load + optimizer-state is set against.
  python_side.py time-resume-determinism FILE
      in-process seconds of what the resume-determinism scenario does on a full-size DCGAN
      checkpoint (default settings: 4 steps straight vs 2 steps, save, load, 2 steps; the
      dcgan plugin's training step, batch 4): the Python side of tests/bench/full_size_dcgan.sh.
"""
import io
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "fixtures"))
sys.path.insert(0, HERE)


WIDE_NGF = 184  # ~1344 * NGF**2 + 12900 * NGF parameters, stored 3 times (+ 2 Adam buffers): ~575 MB


def dcgan(ngf=64):
    from generate_dcgan import Discriminator, Generator  # the examples' DCGAN
    return Generator(nz=100, ngf=ngf, nc=3), Discriminator(nc=3, ndf=ngf)


def adam(net):
    return torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))


def write_dcgan(out, ngf=64):
    torch.manual_seed(0)
    G, D = dcgan(ngf)
    opts = []
    for net in (G, D):
        opt = adam(net)
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


def write_wide_dcgan(out, ngf=WIDE_NGF):
    ngf = int(ngf)
    write_dcgan(out, ngf)
    size = os.path.getsize(out)
    print(f"{out}: {size} bytes ({size / 1e6:.1f} MB), nz=100 ngf=ndf={ngf}")


def resume_load(path, G, D, opt_g, opt_d):
    """Everything a training script does to resume from `path` into a built model."""
    ckpt = torch.load(path, map_location="cpu")
    G.load_state_dict(ckpt["generator"], strict=True)
    D.load_state_dict(ckpt["discriminator"], strict=True)
    opt_g.load_state_dict(ckpt["generator_optimizer"])
    opt_d.load_state_dict(ckpt["discriminator_optimizer"])
    return ckpt


def time_resume_load(path, ngf):
    times = []
    for _ in range(3):
        G, D = dcgan(int(ngf))
        opt_g, opt_d = adam(G), adam(D)
        start = time.perf_counter()
        ckpt = resume_load(path, G, D, opt_g, opt_d)
        times.append(time.perf_counter() - start)
        del ckpt, G, D, opt_g, opt_d
    print(f"{statistics.median(times):.6f}")


def resume_load_once(path, ngf):
    G, D = dcgan(int(ngf))
    resume_load(path, G, D, adam(G), adam(D))


def dcgan_train_step(G, D, opt_g, opt_d, step, batch=4):
    """The dcgan plugin's train_step: one D step on sampled images and G's fakes, one G step."""
    torch.manual_seed(100 + step)
    images = torch.randn(batch, 3, 64, 64).tanh()
    noise = torch.randn(batch, 100, 1, 1)
    bce = torch.nn.functional.binary_cross_entropy
    opt_d.zero_grad()
    fake = G(noise)
    loss_d = bce(D(images).view(-1), torch.ones(batch)) + bce(D(fake.detach()).view(-1), torch.zeros(batch))
    loss_d.backward()
    opt_d.step()
    opt_g.zero_grad()
    bce(D(fake).view(-1), torch.ones(batch)).backward()
    opt_g.step()


def time_resume_determinism(path, steps=4, split=2):
    def resumed_from(source):
        G, D = dcgan()
        opt_g, opt_d = adam(G), adam(D)
        resume_load(source, G, D, opt_g, opt_d)
        return G, D, opt_g, opt_d

    start = time.perf_counter()
    straight = resumed_from(path)
    for step in range(steps):
        dcgan_train_step(*straight, step)
    first = resumed_from(path)
    for step in range(split):
        dcgan_train_step(*first, step)
    buffer = io.BytesIO()
    G, D, opt_g, opt_d = first
    torch.save({"generator": G.state_dict(), "discriminator": D.state_dict(),
                "generator_optimizer": opt_g.state_dict(), "discriminator_optimizer": opt_d.state_dict()}, buffer)
    buffer.seek(0)
    resumed = resumed_from(buffer)
    for step in range(split, steps):
        dcgan_train_step(*resumed, step)
    seconds = time.perf_counter() - start
    same = all(torch.equal(a, b) for a, b in zip(straight[0].state_dict().values(), resumed[0].state_dict().values()))
    print(f"{seconds:.6f} {'bitwise-equal' if same else 'DIFFERENT'}")


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
    # command -> (function, required arguments, optional arguments)
    commands = {"write-dcgan": (write_dcgan, 1, 0), "check-dcgan": (check_dcgan, 1, 0),
                "time-load-state-dict": (time_load_state_dict, 1, 0),
                "write-wide-dcgan": (write_wide_dcgan, 1, 1), "time-resume-load": (time_resume_load, 2, 0),
                "resume-load": (resume_load_once, 2, 0), "time-resume-determinism": (time_resume_determinism, 1, 0)}
    command = commands.get(sys.argv[1] if len(sys.argv) > 1 else "")
    if not command or not command[1] <= len(sys.argv) - 2 <= command[1] + command[2]:
        sys.exit(__doc__ % {"ngf": WIDE_NGF})
    command[0](*sys.argv[2:])
