#!/usr/bin/python3
"""Record what PyTorch does when the DCGAN fixtures are loaded into the current model.

Usage:
    /usr/bin/python3 tests/differential/load_state_dict_oracle.py OUT.json [--manifest fixtures/dcgan/manifest.json]

Reads the manifest written by fixtures/generate_dcgan.py (default: the one in
fixtures/dcgan/ of this repository) and, for every checkpoint in it, builds
the CURRENT model (the PyTorch examples' DCGAN with the manifest's "model"
options, seeded and initialised like the generator does) and:

  components   for each of "generator" / "discriminator": takes the state
               dict at component.path in component.file (a path element that
               is a string is a dict key, an int a list index), renames its
               keys with the checkpoint's key_rules (Python re.sub(pattern,
               replace, key), rules in order), keeps only the keys that start
               with component.prefix and strips it (as Lightning does), then
               calls module.load_state_dict(sd, strict=False).  The state
               dict's _metadata (module path -> {'version': ..}) is renamed
               the same way: a module path M is treated as the key prefix
               "M." (the root "" as ""), renamed, filtered and stripped, and
               the trailing "." removed again; so BatchNorm versions follow
               their modules.
  optimizers   for each present optimizer: the current Adam(lr=2e-4,
               betas=(0.5, 0.999)) over G.parameters() / D.parameters() of a
               current model into which the components were loaded (where
               strict=False loading succeeded), opt.load_state_dict(osd), then
               one training step of the standard DCGAN loss on a fixed batch
               and opt.step().

Output, json.dumps(..., sort_keys=True, indent=1):

  {"<checkpoint file>": {
     "components": {"generator": C, "discriminator": C},
     "optimizers": {"generator_optimizer": O or null, "discriminator_optimizer": O or null}}}

  C = {"loaded":          strict=False load_state_dict raised nothing,
       "error":           its RuntimeError text, or null,
       "missing_keys":    sorted, as load_state_dict reports them,
       "unexpected_keys": sorted, as load_state_dict reports them,
       "size_mismatches": [{"key", "checkpoint_shape", "model_shape"}] sorted by key, parsed from
                          the "size mismatch for KEY: ..." lines of the RuntimeError,
       "strict_loadable": load_state_dict(sd, strict=True) on a fresh model succeeds,
       "tensor_sha256":   after a successful strict=False load, {name: sha256 of the contiguous bytes}
                          of every parameter and buffer of the module (state_dict names and dtypes;
                          tensors named in missing_keys keep the seeded initialisation), else null}
  O = {"loaded":  opt.load_state_dict(osd) raised nothing,
       "step_ok": the training step after it raised nothing (false when the load failed),
       "error":   "<ExceptionType>: <message>" of the load or the step, or null}

With strict=False, PyTorch still raises on size mismatches, and then it does
not return missing/unexpected keys.  They are then taken from a second
strict=False load (fresh model) of the same state dict without the mismatched
keys: its unexpected keys are the same, and its missing keys are the same
plus the removed ones, which are taken out again (a key with a size mismatch
is neither missing nor unexpected).

Note that PyTorch's BatchNorm takes a missing num_batches_tracked as 0, and
does not report it missing, when the _metadata version for its path is absent
or < 2, whatever module that path held in the saved model.

FILES ARE LOADED WITH torch.load: only trusted fixtures.  Paths with a
"hostile" directory component are refused.
"""

import argparse
import collections
import hashlib
import json
import os
import re
import sys

import numpy as np
import torch
import torch.nn as nn

MODEL_SEED = 1   # as fixtures/generate_dcgan.py
BATCH_SEED = 1234
BATCH = 4

# The current model is the one fixtures/generate_dcgan.py defines (its Generator,
# Discriminator and weights_init): one definition for the writer and the oracle.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures"))
from generate_dcgan import Discriminator, Generator, weights_init  # noqa: E402


def build_current(cfg):
    """{'generator': G, 'discriminator': D}, initialised like the fixtures' models."""
    torch.manual_seed(MODEL_SEED)
    np.random.seed(MODEL_SEED)
    G = Generator(nz=cfg['nz'], ngf=cfg['ngf'], nc=cfg['nc'])
    G.apply(weights_init)
    D = Discriminator(nc=cfg['nc'], ndf=cfg['ndf'])
    D.apply(weights_init)
    return {'generator': G, 'discriminator': D}


# which module each optimizer covers
OPTIMIZER_MODULE = {'generator_optimizer': 'generator', 'discriminator_optimizer': 'discriminator'}


def current_adam(params):
    return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))


# ---------------------------------------------------------------------------
# state dict plumbing


def _has_hostile_dir(path):
    dirs = list(os.path.normpath(path).split(os.sep)[:-1])
    dirs += list(os.path.realpath(path).split(os.sep)[:-1])
    return 'hostile' in dirs


class Files:
    def __init__(self, base):
        self.base = base
        self.cache = {}

    def load(self, rel):
        path = os.path.join(self.base, rel)
        if _has_hostile_dir(path):
            raise SystemExit('error: refusing %s: it is under a "hostile" directory' % path)
        if rel not in self.cache:
            self.cache[rel] = torch.load(path, map_location='cpu', weights_only=False)
        return self.cache[rel]

    def at(self, ref):
        obj = self.load(ref['file'])
        for step in ref['path']:
            obj = obj[step]
        return obj


def _rename(key, rules, prefix):
    """The key after the rules and the prefix strip, or None when it lacks the prefix."""
    for rule in rules:
        key = re.sub(rule['pattern'], rule['replace'], key)
    if not key.startswith(prefix):
        return None
    return key[len(prefix):]


def component_state_dict(raw, rules, prefix):
    sd = collections.OrderedDict()
    for k, v in raw.items():
        nk = _rename(k, rules, prefix)
        if nk is not None:
            sd[nk] = v
    metadata = getattr(raw, '_metadata', None)
    if metadata is not None:
        md = collections.OrderedDict()
        for m, v in metadata.items():
            nm = _rename(m + '.' if m else '', rules, prefix)
            if nm is not None:
                md[nm[:-1] if nm.endswith('.') else nm] = v
        sd._metadata = md
    return sd


def without(sd, keys):
    out = collections.OrderedDict((k, v) for k, v in sd.items() if k not in keys)
    if hasattr(sd, '_metadata'):
        out._metadata = sd._metadata
    return out


_MISMATCH = re.compile(r'size mismatch for (\S+): copying a param with shape torch\.Size\(\[([0-9, ]*)\]\) '
                       r'from checkpoint, the shape in current model is torch\.Size\(\[([0-9, ]*)\]\)\.')


def _shape(s):
    return [int(x) for x in s.split(',') if x.strip()]


def parse_size_mismatches(msg):
    out = []
    for line in msg.split('\n')[1:]:
        m = _MISMATCH.fullmatch(line.strip())
        if not m:
            raise RuntimeError('unexpected load_state_dict error line: %r' % line)
        out.append({'key': m.group(1), 'checkpoint_shape': _shape(m.group(2)), 'model_shape': _shape(m.group(3))})
    return sorted(out, key=lambda d: d['key'])


def tensor_sha256(module):
    return {name: hashlib.sha256(t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()).hexdigest()
            for name, t in module.state_dict().items()}


def load_keys(make_module, sd):
    """load_state_dict(sd, strict=False) into make_module().

    Returns (module, error, size_mismatches, missing_keys, unexpected_keys): module is None
    and error PyTorch's message when it raised on size mismatches; the keys then come from
    a second load, into a fresh module, without the mismatched keys (see the top)."""
    module = make_module()
    try:
        keys = module.load_state_dict(sd, strict=False)
        return module, None, [], keys.missing_keys, keys.unexpected_keys
    except RuntimeError as e:
        mismatches = parse_size_mismatches(str(e))
        mismatched = {m['key'] for m in mismatches}
        retry = make_module().load_state_dict(without(sd, mismatched), strict=False)
        missing = [k for k in retry.missing_keys if k not in mismatched]
        return None, str(e), mismatches, missing, retry.unexpected_keys


def strict_loadable(make_module, sd):
    try:
        make_module().load_state_dict(sd, strict=True)
        return True
    except RuntimeError:
        return False


def check_component(cfg, name, sd):
    def make_module():
        return build_current(cfg)[name]
    module, error, mismatches, missing, unexpected = load_keys(make_module, sd)
    return {'loaded': module is not None, 'error': error, 'size_mismatches': mismatches,
            'tensor_sha256': tensor_sha256(module) if module is not None else None,
            'missing_keys': sorted(missing), 'unexpected_keys': sorted(unexpected),
            'strict_loadable': strict_loadable(make_module, sd)}


def _err(e):
    return '%s: %s' % (type(e).__name__, e)


def training_step(models, opt_name, opt, cfg):
    """One step of the standard DCGAN loss for the module opt covers, on a fixed batch."""
    G, D = models['generator'], models['discriminator']
    torch.manual_seed(BATCH_SEED)
    real = torch.rand(BATCH, cfg['nc'], cfg['image_size'], cfg['image_size']) * 2 - 1
    noise = torch.randn(BATCH, cfg['nz'], 1, 1)
    criterion = nn.BCELoss()
    ones, zeros = torch.ones(BATCH), torch.zeros(BATCH)
    G.zero_grad()
    D.zero_grad()
    if opt_name == 'discriminator_optimizer':
        err = criterion(D(real).view(-1), ones) + criterion(D(G(noise).detach()).view(-1), zeros)
    else:
        err = criterion(D(G(noise)).view(-1), ones)
    err.backward()
    opt.step()


def check_optimizer(cfg, component_sds, opt_name, osd):
    models = build_current(cfg)
    for name, sd in component_sds.items():
        try:
            models[name].load_state_dict(sd, strict=False)
        except RuntimeError:
            pass  # the size mismatches are reported with the component
    opt = current_adam(models[OPTIMIZER_MODULE[opt_name]].parameters())
    try:
        opt.load_state_dict(osd)
    except Exception as e:  # Python is lax about what it accepts; record what it does
        return {'loaded': False, 'step_ok': False, 'error': _err(e)}
    try:
        training_step(models, opt_name, opt, cfg)
    except Exception as e:
        return {'loaded': True, 'step_ok': False, 'error': _err(e)}
    return {'loaded': True, 'step_ok': True, 'error': None}


def check_checkpoint(cfg, files, entry):
    sds = {name: component_state_dict(files.at(ref), entry['key_rules'], ref['prefix'])
           for name, ref in entry['components'].items()}
    out = {'components': {name: check_component(cfg, name, sd) for name, sd in sds.items()},
           'optimizers': {}}
    for opt_name, ref in entry['optimizers'].items():
        out['optimizers'][opt_name] = None if ref is None else check_optimizer(cfg, sds, opt_name, files.at(ref))
    return out


def main(argv=None):
    default_manifest = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                    'fixtures', 'dcgan', 'manifest.json')
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out', help='output JSON file')
    ap.add_argument('--manifest', default=os.path.normpath(default_manifest))
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    if _has_hostile_dir(args.manifest):
        sys.stderr.write('error: refusing %s: it is under a "hostile" directory\n' % args.manifest)
        return 2
    with open(args.manifest, encoding='utf-8') as f:
        manifest = json.load(f)
    cfg = manifest['model']
    files = Files(os.path.dirname(os.path.abspath(args.manifest)))
    result = {}
    for entry in manifest['checkpoints']:
        if entry['file'] in result:
            sys.stderr.write('error: %s listed twice\n' % entry['file'])
            return 2
        result[entry['file']] = check_checkpoint(cfg, files, entry)
    with open(args.out, 'w', encoding='ascii', newline='\n') as f:
        f.write(json.dumps(result, sort_keys=True, indent=1) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
