#!/usr/bin/python3
"""Differential fidelity over every architecture: for every checkpoint of every fixture
manifest (fixtures/<arch>/manifest*.json, with the architecture's Python twin in
fixtures/models/<arch>.py) and every version of the architecture, the harness's verdict
(`ckpt-harness diff --json`) equals what PyTorch's own load_state_dict says into the twin's
model of that version: per module, the missing keys, the unexpected keys, the size
mismatches (key and both shapes) and whether a strict load succeeds. A new fixture listed
in a manifest, or a new architecture with a manifest and a twin, is covered without
changing this test.

Usage: fidelity_all.py <source root> <directory of the built ckpt-harness>

The twin is built with the manifest's model options ('options' per checkpoint, else
'options' or 'model' at the top); the plugin with the default config's [plugins.<arch>] options: the same sizes.
Fixtures are trusted (written by the generators); paths under a 'hostile' directory are
refused, as in load_state_dict_oracle.py, whose state-dict plumbing this reuses.
"""
import importlib
import json
import os
import subprocess
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from load_state_dict_oracle import Files, component_state_dict, load_keys, strict_loadable  # noqa: E402

import torch  # noqa: E402


def python_verdict(build, name, sd):
    """What load_state_dict(strict=False), then strict=True, says for module `name`."""
    def make_module():
        return build()[name]
    _, _, mismatches, missing, unexpected = load_keys(make_module, sd)
    # Sets: PyTorch's spectral-norm load hook can list a missing key twice.
    return {'missing': sorted(set(missing)), 'unexpected': sorted(set(unexpected)),
            'size_mismatches': sorted((m['key'], m['checkpoint_shape'], m['model_shape']) for m in mismatches),
            'strict': strict_loadable(make_module, sd)}


def harness_verdicts(diff_json):
    out = {}
    for m in diff_json['modules']:
        if 'missing' not in m:  # the component could not be read where the layout says
            out[m['module']] = {'error': m.get('error', m)}
            continue
        out[m['module']] = {'missing': sorted(m['missing']), 'unexpected': sorted(m['unexpected']),
                            'size_mismatches': sorted((s['key'], s['checkpoint'], s['model']) for s in m['shape_mismatches']),
                            'strict': m['strictly_loadable']}
    return out


def layout_args(entry, base):
    """diff arguments that put each component where the manifest says it is."""
    components = entry['components']
    main = entry['file']
    if os.path.isdir(os.path.join(base, main)):  # one file per component: any of them is the main file
        main = sorted(c['file'] for c in components.values())[0]
    args = []
    prefixes = {c['prefix'] for c in components.values()}
    if prefixes != {''}:
        if not all(c['prefix'] == n + '.' and c['path'] == ['state_dict'] for n, c in components.items()):
            raise SystemExit('%s: prefixes other than the lightning layout\'s are not expressible as diff options' % main)
        args += ['--layout', 'lightning']
    else:
        for name, c in sorted(components.items()):
            if not c['path']:  # a whole file is the component's state dict
                args += ['--file', '%s=%s' % (name, os.path.join(base, c['file']))]
            elif c['file'] != main:
                raise SystemExit('%s: component %s at a path inside another file' % (main, name))
            elif c['path'] != [name]:
                args += ['--map', '%s=%s' % (name, '.'.join(str(p) for p in c['path']))]
    for rule in entry.get('key_rules', []):
        args += ['--key-rule', '%s=%s' % (rule['pattern'], rule['replace'])]
    return os.path.join(base, main), args


def main():
    root, harness_dir = sys.argv[1], sys.argv[2]
    harness = os.path.join(harness_dir, 'ckpt-harness')
    torch.set_num_threads(1)
    with open(os.path.join(root, 'ckpt-harness.toml'), 'rb') as f:
        config = tomllib.load(f)
    sys.path.insert(0, os.path.join(root, 'fixtures', 'models'))
    fixtures = os.path.join(root, 'fixtures')
    compared = 0
    failures = []
    architectures = []
    manifests = []
    for arch in sorted(os.listdir(fixtures)):
        if not os.path.exists(os.path.join(fixtures, 'models', arch + '.py')):
            continue
        for name in sorted(os.listdir(os.path.join(fixtures, arch))):
            if name.startswith('manifest') and name.endswith('.json'):
                manifests.append((arch, os.path.join(fixtures, arch, name)))
    for arch, manifest_path in manifests:
        twin = importlib.import_module(arch)
        with open(manifest_path) as f:
            manifest = json.load(f)
        base = os.path.dirname(manifest_path)
        files = Files(base)
        plugin_options = config.get('plugins', {}).get(arch, {}).get('options', {})
        option_args = [a for k, v in sorted(plugin_options.items()) for a in ('--option', '%s=%s' % (k, v))]
        architectures.append('%s %s (%d checkpoints x %d versions)' % (arch, os.path.basename(manifest_path),
                                                                     len(manifest['checkpoints']), len(twin.VERSIONS)))
        for entry in manifest['checkpoints']:
            model_options = entry.get('options', manifest.get('options', manifest.get('model', {})))
            main_file, args = layout_args(entry, base)
            for version in twin.VERSIONS:
                def build(version=version, model_options=model_options):
                    return twin.build(version, **model_options)[0]
                r = subprocess.run([harness, 'diff', main_file, '--plugin', '%s@%s' % (arch, version), '--json'] + option_args + args,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                if r.returncode not in (0, 1):
                    failures.append('%s on %s@%s: diff exited %d: %s' % (entry['file'], arch, version, r.returncode, r.stderr))
                    continue
                ours = harness_verdicts(json.loads(r.stdout))
                for name, source in sorted(entry['components'].items()):
                    sd = component_state_dict(files.at(source), entry.get('key_rules', []), source['prefix'])
                    theirs = python_verdict(build, name, sd)
                    compared += 1
                    if ours.get(name) != theirs:
                        failures.append('%s [%s] on %s@%s:\n  harness: %s\n  pytorch: %s' %
                                        (entry['file'], name, arch, version, ours.get(name), theirs))
    if failures:
        print('\n'.join(failures))
        print('FAIL: %d of %d (checkpoint, version, module) verdicts differ from PyTorch\'s' % (len(failures), compared))
        return 1
    if not architectures:
        print('FAIL: no fixture manifest with a Python twin found under %s' % fixtures)
        return 1
    print('fidelity: %d (checkpoint, version, module) verdicts equal PyTorch load_state_dict\'s: %s' %
          (compared, ', '.join(architectures)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
