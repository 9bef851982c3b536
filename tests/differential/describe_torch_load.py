#!/usr/bin/python3
"""Describe what torch.load (or a reference safetensors reader) returns, canonically.

Usage:
    /usr/bin/python3 tests/differential/describe_torch_load.py OUT_DIR [--root DIR] FILE...

For each FILE, writes OUT_DIR/<path of FILE under DIR, '/' as '__'>.jsonl (the
basename without --root): one JSON object per
line, depth-first pre-order, each produced by
    json.dumps(d, sort_keys=True, ensure_ascii=True, separators=(',', ':'))
The C++ reader emits the very same bytes from its own parse, so the two can be
compared with cmp/diff.  The format (keep in sync with the C++ side):

  "path": list of components from the root ([] for the root): str dict key ->
          JSON string; int dict key or list/tuple index -> JSON number; bool key
          -> true/false; any other key -> "<key:TYPENAME>"; a dict's _metadata
          -> "@_metadata".
  "kind" and per-kind fields:
    none      {}
    bool      value: true|false
    int       value: "<decimal>"
    float     value: "%.17g" % x   ("nan", "inf", "-inf")
    str       value: the string
    bytes     hex: lowercase hex           (bytes and bytearray)
    numpy scalars: kind bool/int/float as above plus "numpy": dtype name
    ndarray   dtype, shape, sha256 (of the C-contiguous bytes)
    tuple     size, then items as children (torch.Size, namedtuples too)
    list      size, then items as children
    dict      size, ordered (isinstance OrderedDict), then items as children in
              iteration order, then (if the dict has a _metadata attribute) the
              _metadata value as child "@_metadata"
    tensor    dtype (no "torch."), shape, stride, offset, requires_grad,
              parameter, storage_nbytes, storage (group index of the storage
              in first-seen order over the file's DFS, null if 0 bytes),
              sha256 (of the contiguous element bytes; of int_repr() for a
              quantized tensor, which also has qscheme and q_scale, q_zero_point
              or q_axis with children "@scales", "@zero_points");
              a meta tensor has meta: true and no storage_nbytes, storage, sha256;
              a subclass instance has class; then vars(t) items as children
    sparse    layout, dtype, shape, requires_grad, parameter (and class), then
              the parts as tensor children "@indices", "@values" (COO) or
              "@compressed_indices", "@plain_indices", "@values"
    dtype     value: e.g. "float32";   device   value: str(device)
    object    class: "<module>.<qualname>", then vars(x) items as children

A directory is a torch.distributed.checkpoint checkpoint (PyTorch 2.x), read by DCP's own
load into one process (load_dcp) and described as the state dict it gives.

Files ending in .safetensors or .safetensors.index.json are read with the small
safetensors reader below instead of torch.load and described as an ordered
dict of tensors (header order; for an index, weight_map order), with no
"@_metadata" child.

FILES ARE LOADED WITH torch.load, i.e. their pickles are EXECUTED: only pass
trusted fixtures.  Paths with a "hostile" directory component are refused.
"""

import collections
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn


class DescribeError(Exception):
    pass


def _dtype_name(dt):
    s = str(dt)
    return s[len('torch.'):] if s.startswith('torch.') else s


def _float_str(x):
    return '%.17g' % x


def _key_component(k):
    if isinstance(k, bool):
        return k
    if isinstance(k, str):
        return k
    if isinstance(k, int):
        return k
    return '<key:' + type(k).__name__ + '>'


def _contiguous_strides(shape):
    strides = []
    acc = 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= n
    return list(reversed(strides))


class Describer:
    def __init__(self):
        self.lines = []
        self.storage_groups = {}
        self.active = set()  # ids on the current DFS path (cycle guard)

    def emit(self, path, kind, **fields):
        d = {'path': list(path), 'kind': kind}
        d.update(fields)
        self.lines.append(json.dumps(d, sort_keys=True, ensure_ascii=True, separators=(',', ':')))

    def group_for(self, key, nbytes):
        if nbytes == 0:
            return None
        if key not in self.storage_groups:
            self.storage_groups[key] = len(self.storage_groups)
        return self.storage_groups[key]

    def tensor(self, path, t):
        extra = {}
        if type(t) not in (torch.Tensor, nn.Parameter):
            extra['class'] = '%s.%s' % (type(t).__module__, type(t).__qualname__)
        common = dict(dtype=_dtype_name(t.dtype), shape=list(t.shape), requires_grad=bool(t.requires_grad),
                      parameter=isinstance(t, nn.Parameter), **extra)
        if t.layout != torch.strided:
            self.sparse(path, t, common)
        elif t.device.type == 'meta':
            self.emit(path, 'tensor', stride=list(t.stride()), offset=t.storage_offset(), meta=True, **common)
        else:
            self.dense(path, t, common)
        for k, v in vars(t).items():  # Python attributes of the tensor (subclass state)
            self.visit(path + [str(k)], v)

    def dense(self, path, t, common):
        # PyTorch 2.x: the untyped storage (t.storage() warns, and has no typed class for the
        # dtypes _rebuild_tensor_v3 saves); 1.13 has only t.storage().
        storage = t.untyped_storage() if hasattr(t, 'untyped_storage') else t.storage()
        nbytes = storage.nbytes()
        fields = {}
        if t.is_quantized:
            fields['qscheme'] = str(t.qscheme())[len('torch.'):]
            if t.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
                fields['q_scale'] = _float_str(t.q_scale())
                fields['q_zero_point'] = str(t.q_zero_point())
            else:
                fields['q_axis'] = t.q_per_channel_axis()
            flat = t.int_repr().contiguous().reshape(-1)
        else:
            flat = t.detach().contiguous().reshape(-1)
        raw = flat.view(torch.uint8).numpy().tobytes()
        self.emit(path, 'tensor',
                  stride=list(t.stride()),
                  offset=t.storage_offset(),
                  storage_nbytes=nbytes,
                  storage=self.group_for(('torch', storage.data_ptr()), nbytes),
                  sha256=hashlib.sha256(raw).hexdigest(), **common, **fields)
        if t.is_quantized and 'q_axis' in fields:
            self.visit(path + ['@scales'], t.q_per_channel_scales())
            self.visit(path + ['@zero_points'], t.q_per_channel_zero_points())

    def sparse(self, path, t, common):
        layout = str(t.layout)[len('torch.'):]
        self.emit(path, 'sparse', layout=layout, **common)
        if t.layout == torch.sparse_coo:
            parts = [('@indices', t._indices()), ('@values', t._values())]
        elif t.layout in (torch.sparse_csr, torch.sparse_bsr):
            parts = [('@compressed_indices', t.crow_indices()), ('@plain_indices', t.col_indices()),
                     ('@values', t.values())]
        else:
            parts = [('@compressed_indices', t.ccol_indices()), ('@plain_indices', t.row_indices()),
                     ('@values', t.values())]
        for name, part in parts:
            self.visit(path + [name], part)

    def raw_tensor(self, path, dtype, shape, data, group_key):
        """A tensor given as contiguous bytes (safetensors)."""
        self.emit(path, 'tensor',
                  dtype=dtype,
                  shape=list(shape),
                  stride=_contiguous_strides(shape),
                  offset=0,
                  requires_grad=False,
                  parameter=False,
                  storage_nbytes=len(data),
                  storage=self.group_for(group_key, len(data)),
                  sha256=hashlib.sha256(data).hexdigest())

    def visit(self, path, x):
        if isinstance(x, np.generic) and isinstance(x, (np.bool_, np.integer, np.floating)):
            if isinstance(x, np.bool_):
                self.emit(path, 'bool', value=bool(x), numpy=x.dtype.name)
            elif isinstance(x, np.integer):
                self.emit(path, 'int', value=str(int(x)), numpy=x.dtype.name)
            else:
                self.emit(path, 'float', value=_float_str(float(x)), numpy=x.dtype.name)
            return
        if x is None:
            self.emit(path, 'none')
        elif isinstance(x, bool):
            self.emit(path, 'bool', value=x)
        elif isinstance(x, int):
            self.emit(path, 'int', value=str(int(x)))
        elif isinstance(x, float):
            self.emit(path, 'float', value=_float_str(float(x)))
        elif isinstance(x, str):
            self.emit(path, 'str', value=str(x))
        elif isinstance(x, (bytes, bytearray)):
            self.emit(path, 'bytes', hex=bytes(x).hex())
        elif isinstance(x, np.ndarray):
            if x.dtype.hasobject:
                raise DescribeError('object ndarray at %r' % (path,))
            self.emit(path, 'ndarray', dtype=x.dtype.name, shape=list(x.shape),
                      sha256=hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest())
        elif isinstance(x, torch.Tensor):
            self.tensor(path, x)
        elif isinstance(x, torch.dtype):
            self.emit(path, 'dtype', value=_dtype_name(x))
        elif isinstance(x, torch.device):
            self.emit(path, 'device', value=str(x))
        elif isinstance(x, (tuple, list, dict)):
            if id(x) in self.active:
                raise DescribeError('reference cycle at %r' % (path,))
            self.active.add(id(x))
            try:
                if isinstance(x, (tuple, list)):
                    self.emit(path, 'tuple' if isinstance(x, tuple) else 'list', size=len(x))
                    for i, item in enumerate(x):
                        self.visit(path + [i], item)
                else:
                    self.emit(path, 'dict', size=len(x),
                              ordered=isinstance(x, collections.OrderedDict))
                    for k, v in x.items():
                        self.visit(path + [_key_component(k)], v)
                    if hasattr(x, '_metadata'):
                        self.visit(path + ['@_metadata'], x._metadata)
            finally:
                self.active.discard(id(x))
        else:
            t = type(x)
            self.emit(path, 'object', **{'class': '%s.%s' % (t.__module__, t.__qualname__)})
            if hasattr(x, '__dict__'):
                if id(x) in self.active:
                    raise DescribeError('reference cycle at %r' % (path,))
                self.active.add(id(x))
                try:
                    for k, v in vars(x).items():
                        self.visit(path + [str(k)], v)
                finally:
                    self.active.discard(id(x))


# --- tiny safetensors reader --------------------------------------------------

# safetensors dtype -> (our dtype name, element size)
_ST_DTYPES = {
    'F64': ('float64', 8), 'F32': ('float32', 4), 'F16': ('float16', 2), 'BF16': ('bfloat16', 2),
    'I64': ('int64', 8), 'I32': ('int32', 4), 'I16': ('int16', 2), 'I8': ('int8', 1),
    'U8': ('uint8', 1), 'BOOL': ('bool', 1), 'C64': ('complex64', 8),
}


def read_safetensors(path):
    """Returns [(name, dtype_name, shape, bytes)] in header order; validates the layout."""
    with open(path, 'rb') as f:
        blob = f.read()
    if len(blob) < 8:
        raise DescribeError('%s: too short for a safetensors header' % path)
    (n,) = struct.unpack('<Q', blob[:8])
    if n > len(blob) - 8:
        raise DescribeError('%s: header length %d past end of file' % (path, n))
    header = json.loads(blob[8:8 + n].decode('utf-8'),
                        object_pairs_hook=collections.OrderedDict)
    buf = blob[8 + n:]
    spans = []
    out = []
    for name, info in header.items():
        if name == '__metadata__':
            continue
        if info['dtype'] not in _ST_DTYPES:
            raise DescribeError('%s: %s: unsupported dtype %s' % (path, name, info['dtype']))
        dname, esize = _ST_DTYPES[info['dtype']]
        shape = [int(s) for s in info['shape']]
        begin, end = (int(v) for v in info['data_offsets'])
        if not (0 <= begin <= end <= len(buf)) or end - begin != esize * math.prod(shape):
            raise DescribeError('%s: %s: bad data_offsets %r' % (path, name, info['data_offsets']))
        spans.append((begin, end))
        out.append((name, dname, shape, buf[begin:end]))
    pos = 0
    for begin, end in sorted(spans):
        if begin != pos:
            raise DescribeError('%s: tensor data not contiguous at byte %d' % (path, pos))
        pos = end
    if pos != len(buf):
        raise DescribeError('%s: %d trailing bytes after tensor data' % (path, len(buf) - pos))
    return out


def load_safetensors_like(path):
    if path.endswith('.safetensors.index.json'):
        with open(path, encoding='utf-8') as f:
            index = json.load(f, object_pairs_hook=collections.OrderedDict)
        base = os.path.dirname(path)
        shards = {}
        out = []
        for name, shard in index['weight_map'].items():
            if shard not in shards:
                shards[shard] = {t[0]: t for t in read_safetensors(os.path.join(base, shard))}
            if name not in shards[shard]:
                raise DescribeError('%s: %s not in shard %s' % (path, name, shard))
            out.append(shards[shard][name])
        return out
    return read_safetensors(path)


def is_safetensors_path(path):
    return path.endswith('.safetensors') or path.endswith('.safetensors.index.json')


def load_dcp(path):
    """DCP's own load of a whole directory into one process (what dcp_to_torch_save does):
    every tensor assembled from its chunks, the user's nesting rebuilt."""
    from torch.distributed.checkpoint import FileSystemReader
    from torch.distributed.checkpoint.default_planner import _EmptyStateDictLoadPlanner
    from torch.distributed.checkpoint.state_dict_loader import _load_state_dict
    sd = {}
    _load_state_dict(sd, storage_reader=FileSystemReader(path), planner=_EmptyStateDictLoadPlanner(), no_dist=True)
    return sd


def describe_file(path):
    d = Describer()
    if is_safetensors_path(path):
        tensors = load_safetensors_like(path)
        d.emit([], 'dict', size=len(tensors), ordered=True)
        for i, (name, dname, shape, data) in enumerate(tensors):
            d.raw_tensor([name], dname, shape, data, ('safetensors', i))
    elif os.path.isdir(path):  # a torch.distributed.checkpoint directory (PyTorch 2.x)
        d.visit([], load_dcp(path))
    else:
        obj = torch.load(path, map_location='cpu', weights_only=False)  # trusted fixtures only (see above); 2.6 defaults to True
        d.visit([], obj)
    return d.lines


def _has_hostile_dir(path):
    dirs = list(os.path.normpath(path).split(os.sep)[:-1])
    dirs += list(os.path.realpath(path).split(os.sep)[:-1])
    return 'hostile' in dirs


def output_name(path, root):
    """dcgan/v2/current.pt under ROOT -> dcgan__v2__current.pt.jsonl (basename without ROOT)."""
    rel = os.path.relpath(path, root) if root else os.path.basename(path)
    return rel.replace(os.sep, '__') + '.jsonl'


def main(argv):
    if len(argv) < 3 or argv[1] in ('-h', '--help'):
        sys.stderr.write(__doc__)
        return 2
    out_dir, files = argv[1], argv[2:]
    root = None
    if len(files) >= 2 and files[0] == '--root':
        root, files = files[1], files[2:]
    seen = {}
    errors = []
    for f in files:
        if _has_hostile_dir(f):
            errors.append('refusing %s: it is under a "hostile" directory' % f)
        b = output_name(f, root)
        if b in seen:
            errors.append('%s and %s would share the output %s' % (seen[b], f, b))
        seen.setdefault(b, f)
    if errors:
        for e in errors:
            sys.stderr.write('error: %s\n' % e)
        return 2
    os.makedirs(out_dir, exist_ok=True)
    status = 0
    for f in files:
        try:
            lines = describe_file(f)
        except Exception as e:  # report and keep going with the other files
            sys.stderr.write('error: %s: %s: %s\n' % (f, type(e).__name__, e))
            status = 1
            continue
        with open(os.path.join(out_dir, output_name(f, root)), 'w', encoding='ascii',
                  newline='\n') as out:
            out.write(''.join(line + '\n' for line in lines))
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv))
