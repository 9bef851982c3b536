#!/usr/bin/python3
"""Writes a model's checkpoint schema manifest (JSON, schema ckpt-harness.model-schema v1)
from Python: the same document `ckpt-harness schema --plugin P` writes from a C++ plugin, for
teams whose models live only in Python. Needs PyTorch and nothing else (Debian: python3-torch).

From the command line, with a function of the model's repository that builds the model:

    /usr/bin/python3 write_manifest.py --factory models/gan.py:build --name my_gan \\
        --version 2.1.0 --option nz=128 -o schemas/my_gan-2.1.0.json

    build(**options) -> (modules, optimizers)
        modules:    {'generator': nn.Module, 'discriminator': nn.Module, ...}
        optimizers: {'generator_optimizer': torch.optim.Adam(...), ...}
    A factory that takes an argument named `version` is given --version.

Or from Python:

    import write_manifest
    write_manifest.write('my_gan-2.1.0.json', 'my_gan', '2.1.0',
                         {'generator': G, 'discriminator': D},
                         {'generator_optimizer': opt_g, 'discriminator_optimizer': opt_d})

Per module: every state_dict() tensor in order, with dtype, shape and kind (parameter or
buffer), and the BatchNorm submodules (PyTorch migrates their old state dicts). Per
optimizer: its class, and per group the size, the qualified parameter names in order and the
hyper-parameters (betas as beta1 and beta2, booleans as 0 or 1)."""
import argparse
import importlib.util
import inspect
import json
import os
import sys

import torch

# The hyper-parameters LibTorch's optimizers have, by class: the ones both sides can compare.
HYPER = {
    'Adam': ('lr', 'betas', 'eps', 'weight_decay', 'amsgrad'),
    'AdamW': ('lr', 'betas', 'eps', 'weight_decay', 'amsgrad'),
    'SGD': ('lr', 'momentum', 'dampening', 'weight_decay', 'nesterov'),
    'RMSprop': ('lr', 'alpha', 'eps', 'weight_decay', 'momentum', 'centered'),
    'Adagrad': ('lr', 'lr_decay', 'weight_decay', 'initial_accumulator_value', 'eps'),
}


def module_schema(name, module):
    # Every buffer key, shared ones included (named_buffers() lists a shared buffer once).
    buffers = {(prefix + '.' if prefix else '') + key
               for prefix, sub in module.named_modules(remove_duplicate=False) for key in sub._buffers}
    tensors = []
    for key, value in module.state_dict().items():
        if not isinstance(value, torch.Tensor):
            continue  # get_extra_state() values: not tensors a checkpoint check compares
        tensors.append({'key': key, 'dtype': str(value.dtype).replace('torch.', ''), 'shape': list(value.shape),
                        'kind': 'buffer' if key in buffers else 'parameter'})
    batch_norm = [prefix for prefix, sub in module.named_modules()
                  if isinstance(sub, torch.nn.modules.batchnorm._BatchNorm)]
    # The _metadata versions its checkpoints carry, where not 1 (norm layers: 2).
    versions = {prefix: sub._version for prefix, sub in module.named_modules()
                if getattr(sub, '_version', 1) != 1}
    return {'name': name, 'tensors': tensors, 'batch_norm': batch_norm, 'versions': versions}


def hyper_of(class_name, group):
    hyper = {}
    for key in HYPER.get(class_name, sorted(group)):
        value = group.get(key)
        if key == 'betas' and isinstance(value, (tuple, list)) and len(value) == 2:
            hyper['beta1'], hyper['beta2'] = float(value[0]), float(value[1])
        elif isinstance(value, (bool, int, float)):
            hyper[key] = float(value)
    return hyper


def optimizer_schema(name, optimizer, modules):
    names = {}
    for module_name, module in modules.items():
        for key, parameter in module.named_parameters():
            names.setdefault(id(parameter), module_name + '.' + key)
    # A subclass of a torch.optim class (a team's own Adam) keeps that class's state and keys.
    class_name = next((c.__name__ for c in type(optimizer).__mro__
                       if c.__module__.startswith('torch.optim') and c.__name__ in HYPER), type(optimizer).__name__)
    groups = []
    for g, group in enumerate(optimizer.param_groups):
        params = []
        for p in group['params']:
            if id(p) not in names:
                raise ValueError('optimizer %r group %d holds a parameter of none of the modules (%s)'
                                 % (name, g, ', '.join(modules)))
            params.append(names[id(p)])
        groups.append({'size': len(params), 'hyper': hyper_of(class_name, group), 'parameters': params})
    return {'name': name, 'class': class_name, 'groups': groups}


def manifest(name, version, modules, optimizers, source='python'):
    return {'schema': 'ckpt-harness.model-schema', 'schema_version': 1,
            'model': {'name': name, 'version': version, 'source': source},
            'modules': [module_schema(n, m) for n, m in modules.items()],
            'optimizers': [optimizer_schema(n, o, modules) for n, o in optimizers.items()]}


def write(path, name, version, modules, optimizers, source='python'):
    text = json.dumps(manifest(name, version, modules, optimizers, source), indent=2, allow_nan=False) + '\n'
    if path in (None, '-'):
        sys.stdout.write(text)
        return
    temporary = path + '.tmp'
    with open(temporary, 'w') as f:
        f.write(text)
    os.replace(temporary, path)


def load_factory(spec):
    file, _, function = spec.rpartition(':')
    if not file or not function:
        raise SystemExit('--factory %r: expected FILE.py:FUNCTION' % spec)
    # As when the file runs as a script: modules beside it can be imported.
    sys.path.insert(0, os.path.dirname(os.path.abspath(file)))
    loaded = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(file))[0], file)
    if loaded is None:
        raise SystemExit('--factory %r: %s is not a Python file' % (spec, file))
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    if not hasattr(module, function):
        raise SystemExit('--factory %r: %s has no function %s' % (spec, file, function))
    return getattr(module, function)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--factory', required=True, help='FILE.py:FUNCTION that returns (modules, optimizers)')
    parser.add_argument('--name', required=True, help="the model's name, as its plugin would give it")
    parser.add_argument('--version', required=True, help='the model version this code represents')
    parser.add_argument('--option', action='append', default=[], metavar='KEY=VALUE',
                        help='passed to the factory as a keyword argument (a string), repeatable')
    parser.add_argument('-o', '--out', default='-', help='where to write (default: standard output)')
    args = parser.parse_args(argv)
    options = {}
    for pair in args.option:
        key, eq, value = pair.partition('=')
        if not eq or not key:
            parser.error('--option %r is not KEY=VALUE' % pair)
        options[key] = value
    factory = load_factory(args.factory)
    if 'version' in inspect.signature(factory).parameters:
        built = factory(version=args.version, **options)
    else:
        built = factory(**options)
    modules, optimizers = built
    write(args.out, args.name, args.version, modules, optimizers, 'python ' + args.factory)


if __name__ == '__main__':
    main()
