#!/usr/bin/python3
"""Differential fuzzing of the reader against a static reading of torch.load.

    /usr/bin/python3 tests/differential/differential_fuzz.py --harness-view build/tests/harness_view \\
        [--root .] [--seconds N | --iterations N] [--seed S] [--artifacts DIR] [--batch 64]

Seeds: every *.pt / *.pth / *.bin under fixtures/ (zip, legacy and TorchScript archives) and
hand-made hostile ones (an archive hidden in a comment, a global in a legacy sys-info or
storage-keys pickle, a TorchScript-looking zip without constants.pkl, ...). Each iteration
mutates a seed (byte flips, truncation, appended data and end records, zip entries
renamed, dropped, added, duplicated or re-ordered, version and byteorder records, pickle
opcodes inserted, deleted or duplicated, global names replaced, persistent ids shortened or
lengthened, two files spliced), writes it to a scratch folder and reads it on both sides:

  harness  tests/differential/harness_view (C++, the reader only): accepts (read_checkpoint
           succeeded), the globals of its security findings, and the refusal's ReadErrorKind;
  python   tests/differential/static_torch_load.py, in process: what torch.load 1.13 / 2.x
           would do, decided without unpickling: accepts (true / false / null = readers or
           versions disagree, or not modelled), and every global it would import.

Python's globals are narrowed to those the harness must report, by the harness's own
allow-list (harness_view "?global NAME", so no copy of known_globals.cpp lives here): a global
is expected as a finding unless the allow-list knows it ("known"). `__torch__.` classes are
expected too: the static reading only ever follows torch.load's Python unpickler, where they
are imports (TorchScript archives go to torch.jit.load and are not modelled).

The agreement rule. With H = the harness's findings and P = Python's expected findings:
  UNSAFE (any one fails the run, exit 1):
    missing-finding   the harness accepts the file and some global of P is not in H: it would
                      say "safe" (or name other globals) while torch.load imports that one;
    other-globals     both accept the file (Python: every version reads it) and H != P: the
                      harness read other content than torch.load (an extra finding on a
                      file torch.load reads means the two did not read the same pickle);
    harness-error     harness_view crashed, hung, or failed with something other than the
                      reader's ReadError.
  Recorded, not failing (refusing is safe; a file torch.load refuses runs nothing after
  the point where it stops, and the findings already cover what runs before it):
    accepts-refused   the harness accepts a file every torch.load refuses;
    accepts-ambiguous the harness accepts a file that readers or versions read differently;
    refuses-readable  the harness refuses a file torch.load reads, for a reason other than
                      an ambiguity or a limit (ReadErrorKind zip with "ambiguous", limit,
                      unsupported): a stricter check, worth a look, never a risk.
Every disagreement is saved under --artifacts (default build/differential-fuzz) as
<class>-<n>.bin with <class>-<n>.json holding both views and the mutation history.

--iterations N: exactly N inputs (deterministic for a given --seed: the CTest test);
--seconds N: as many as fit in N seconds (ci/fuzz-smoke.sh, and long runs by hand).
Nothing from any input is ever executed: the harness reads with its own unpickler, the
Python side walks pickles with pickletools.genops.
"""
import argparse
import json
import os
import random
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import static_torch_load as stl  # noqa: E402

MAGIC_PICKLE = bytes.fromhex("80028a0a6cfc9c46f9206aa850192e")
HOSTILE_GLOBALS = [
    (b"posix", b"system"), (b"builtins", b"eval"), (b"os", b"system"), (b"__builtin__", b"eval"),
    (b"__torch__", b"Module"), (b"__torch__.foo", b"Bar"), (b"os", b"FloatStorage"), (b"torch.tensor", b"x"),
    (b"torch", b"_utils._rebuild_tensor_v2"), (b"__builtin__", b"set"), (b"copy_reg", b"_reconstructor"),
    (b"collections", b"OrderedDict"), (b"torch._utils", b"_rebuild_tensor_v2"), (b"torch", b"FloatStorage"),
    (b"subprocess", b"Popen"), (b"torch", b"load"), (b"numpy", b"dtype"), (b"argparse", b"Namespace"),
]
DEFAULT_ARTIFACTS = os.path.join("build", "differential-fuzz")


# --- building blocks --------------------------------------------------------------------------
def build_zip(entries, comment=b"", zip64=False, prefix_bytes=b""):
    """A stored zip of (name, data) pairs with correct CRCs (optionally a zip64 end record)."""
    out = bytearray(prefix_bytes)
    central = bytearray()
    for name, data in entries:
        crc = zlib.crc32(data)
        off = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, len(data), len(data), len(name), 0)
        out += name + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, crc, len(data), len(data),
                               len(name), 0, 0, 0, 0, 0, off)
        central += name
    cd_ofs = len(out)
    out += central
    if zip64:
        z64 = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central), cd_ofs)
        out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), cd_ofs, len(comment))
    out += comment
    return bytes(out)


def read_entries(d):
    """(name, data) of a zip, by Python's zipfile, or None."""
    try:
        with zipfile.ZipFile(__import__("io").BytesIO(d)) as z:
            return [(i.filename.encode("utf-8" if i.flag_bits & 0x800 else "cp437"), z.read(i)) for i in z.infolist()]
    except Exception:  # noqa: BLE001 - any failure: not a zip this mutation can edit
        return None


def pickle_ops(p, start=0):
    """Op boundaries [(pos, end)] of the pickle at `start` (genops, nothing executed)."""
    import io
    import pickletools
    spans = []
    try:
        prev = None
        for op, arg, pos in pickletools.genops(io.BytesIO(p[start:])):
            if prev is not None:
                spans.append((prev, start + pos))
            prev = start + pos
            if op.name == "STOP":
                spans.append((prev, prev + 1))
                return spans
    except Exception:  # noqa: BLE001 - a broken pickle: the boundaries found so far
        pass
    return spans


def global_op(module, name, stack=False, rng=None):
    if not stack:
        return b"c" + module + b"\n" + name + b"\n"
    return (b"\x8c" + bytes([len(module)]) + module + b"\x8c" + bytes([len(name)]) + name + b"\x93")


def hostile_snippet(rng):
    module, name = rng.choice(HOSTILE_GLOBALS)
    kind = rng.randrange(6)
    if kind == 0:
        return global_op(module, name) + b"0"                      # imported, then dropped
    if kind == 1:
        return global_op(module, name, stack=True) + b"0"           # STACK_GLOBAL
    if kind == 2:                                                   # through the memo
        return (b"\x8c" + bytes([len(module)]) + module + b"q\xf0\x8c" + bytes([len(name)]) + name +
                b"q\xf1" + b"0" + b"0" + b"h\xf0h\xf1\x93" + b"0")
    if kind == 3:
        return b"(i" + module + b"\n" + name + b"\n0"               # INST
    if kind == 4:
        return global_op(module, name) + b"\x8c\x02ls\x85R0"        # called
    return global_op(module, name, stack=True) + b")R0"


def legacy_file(sys_info=None, keys=None, main=None, storages=b""):
    proto = b"\x80\x02M\xe9\x03."
    sys_info = sys_info if sys_info is not None else b"\x80\x02}q\x00X\r\x00\x00\x00little_endianq\x01\x88s."
    main = main if main is not None else b"\x80\x02}q\x00."
    keys = keys if keys is not None else b"\x80\x02]q\x00."
    return MAGIC_PICKLE + proto + sys_info + main + keys + storages


def hand_made_seeds(zip_seed):
    seeds = {}
    evil_pkl = b"\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."
    plain = [(b"archive/data.pkl", b"\x80\x02}q\x00."), (b"archive/byteorder", b"little"), (b"archive/version", b"3\n")]
    evil = [(b"archive/data.pkl", evil_pkl), (b"archive/byteorder", b"little"), (b"archive/version", b"3\n")]
    inner = build_zip(evil)
    seeds["hidden_archive_in_comment"] = build_zip(plain, comment=inner)
    seeds["hidden_archive_in_comment_plus_byte"] = build_zip(plain, comment=inner) + b"x"
    seeds["two_archives_back_to_back"] = build_zip(plain) + inner
    seeds["prepended_data"] = build_zip(evil, prefix_bytes=b"\0" * 64)
    seeds["legacy_global_in_sys_info"] = legacy_file(sys_info=b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00trueq\x01\x85R.")
    seeds["legacy_global_in_keys"] = legacy_file(keys=b"\x80\x02cbuiltins\neval\nX\x02\x00\x00\x00[]\x85R.")
    seeds["legacy_global_in_protocol"] = MAGIC_PICKLE + b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00true\x85R0M\xe9\x03." + \
        legacy_file()[len(MAGIC_PICKLE) + 6:]
    seeds["not_a_magic_pickle"] = b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00true\x85R."
    seeds["torchscript_without_constants"] = build_zip([
        (b"archive/data.pkl", b"\x80\x02c__torch__\nModule\nq\x00)\x81q\x01."), (b"archive/code/__torch__.py", b"x = 1\n"),
        (b"archive/version", b"3\n")])
    seeds["torch_class_in_plain_zip"] = build_zip([
        (b"archive/data.pkl", b"\x80\x02c__torch__\nModule\nq\x00)\x81q\x01."), (b"archive/version", b"3\n")])
    seeds["extra_pickle_beside_data"] = build_zip(plain + [(b"archive/extra.pkl", evil_pkl)])
    seeds["zip64_plain"] = build_zip(evil, zip64=True)
    if zip_seed is not None:
        entries = read_entries(zip_seed)
        if entries:
            seeds["duplicate_data_pkl"] = build_zip(entries + [e for e in entries if e[0].endswith(b"/data.pkl")][:1])
    return seeds


# --- mutations --------------------------------------------------------------------------------
def m_flip(d, rng, _):
    b = bytearray(d)
    if not b:
        return bytes([rng.randrange(256)])
    for _ in range(rng.choice([1, 1, 2, 4, 8])):
        i = rng.randrange(len(b))
        b[i] = rng.choice([b[i] ^ (1 << rng.randrange(8)), rng.randrange(256), 0, 0xFF, b[i] + 1 & 0xFF])
    return bytes(b)


def m_truncate(d, rng, _):
    return d[:rng.randrange(len(d) + 1)] if d else d


def m_append(d, rng, other):
    eocd = d.rfind(b"PK\x05\x06")
    choice = rng.randrange(5)
    if choice == 0:
        return d + bytes(rng.randrange(256) for _ in range(rng.choice([1, 2, 22, 100])))
    if choice == 1 and eocd >= 0:
        return d + d[eocd:eocd + 22]                                # a second end record
    if choice == 2:
        return d + other                                            # another file after this one
    if choice == 3 and eocd >= 0:                                   # the other archive as the comment
        return d[:eocd + 20] + struct.pack("<H", min(len(other), 0xFFFF)) + other[:0xFFFF]
    return d + d[-rng.randrange(1, 64):]


def m_zip_entries(d, rng, other):
    entries = read_entries(d)
    if not entries:
        return m_flip(d, rng, other)
    prefix = entries[0][0].split(b"/")[0] + b"/"
    choice = rng.randrange(11)
    if choice == 0:                                                 # drop one
        del entries[rng.randrange(len(entries))]
    elif choice == 1:                                               # duplicate one
        entries.insert(rng.randrange(len(entries) + 1), rng.choice(entries))
    elif choice == 2:                                               # rename one, a little
        i = rng.randrange(len(entries))
        name = bytearray(entries[i][0])
        j = rng.randrange(len(name)) if name else 0
        op = rng.randrange(4)
        if op == 0 and name:
            name[j] = ord(chr(name[j]).swapcase()) if chr(name[j]).isalpha() else name[j]
        elif op == 1 and name:
            name[j] = rng.choice(b"/\\.\0 xA")
        elif op == 2:
            name = bytearray(rng.choice([b"constants.pkl", b"data.pkl", b"version", b".data/version", b"byteorder",
                                         b"code/__torch__.py", b"data/0", b"DATA.PKL", b"x.debug_pkl"]))
            name = bytearray(prefix) + name if rng.random() < 0.8 else name
        else:
            name = bytearray(rng.choice([b"other/", b"", b"/", b"../"])) + name.split(b"/", 1)[-1]
        entries[i] = (bytes(name), entries[i][1])
    elif choice == 3:                                               # re-order
        rng.shuffle(entries)
    elif choice == 4:                                               # add a pickle with a global
        name = rng.choice([b"constants.pkl", b"extra.pkl", b"data.pkl", b"code/x.pkl", b"x.debug_pkl"])
        entries.append((prefix + name, b"\x80\x02" + hostile_snippet(rng) + b"N."))
    elif choice == 5:                                               # version / byteorder records
        name = rng.choice([b"version", b".data/version", b"byteorder"])
        value = rng.choice([b"3", b"3\n", b"0", b"11", b"-1", b" 3", b"3abc", b"", b"little", b"big", b"little\n",
                            b"middle", b"18446744073709551619"])
        entries = [e for e in entries if e[0] != prefix + name] + [(prefix + name, value)]
    elif choice == 6:                                               # another file's data.pkl
        theirs = read_entries(other) or []
        pkl = [e[1] for e in theirs if e[0].endswith(b"data.pkl")]
        if pkl:
            entries = [(n, pkl[0] if n.endswith(b"data.pkl") else v) for n, v in entries]
    elif choice == 7:                                               # data.pkl edited at the pickle level
        entries = [(n, m_pickle(v, rng, other) if n.endswith(b".pkl") else v) for n, v in entries]
    elif choice == 8:                                               # tensor record resized
        data = [i for i, e in enumerate(entries) if b"/data/" in e[0]]
        if data:
            i = rng.choice(data)
            entries[i] = (entries[i][0], entries[i][1][:rng.randrange(len(entries[i][1]) + 1)] + b"\0" * rng.choice([0, 4]))
    zip64 = rng.random() < 0.5
    comment = rng.choice([b"", b"", b"", b"a comment", b"PK\x05\x06"])
    out = build_zip(entries, comment=comment, zip64=zip64)
    if choice == 9:                                                 # central directory entry count off by one
        eocd = out.rfind(b"PK\x05\x06", 0, len(out) - 22 + 4)
        count = struct.unpack_from("<H", out, eocd + 10)[0] if eocd >= 0 else 0
        delta = rng.choice([-1, 1])
        out = out[:eocd + 8] + struct.pack("<HH", max(0, count + delta), max(0, count + delta)) + out[eocd + 12:]
    if choice == 10:                                                # a wrong CRC-32
        p = out.find(b"PK\x01\x02")
        if p >= 0:
            out = out[:p + 16] + bytes([out[p + 16] ^ 1]) + out[p + 17:]
    return out


def m_pickle(p, rng, other, start=None):
    """Edits one pickle at op boundaries: insert a global, delete / duplicate / swap ops,
    change a global's name, change a tuple's length (persistent ids)."""
    spans = pickle_ops(p, start if start is not None else 0)
    if not spans:
        return m_flip(p, rng, other)
    choice = rng.randrange(6)
    i = rng.randrange(len(spans))
    a, b = spans[i]
    if choice == 0:
        return p[:a] + hostile_snippet(rng) + p[a:]
    if choice == 1 and len(spans) > 1:
        return p[:a] + p[b:]
    if choice == 2:
        return p[:b] + p[a:b] + p[b:]
    if choice == 3 and len(spans) > 2:
        j = rng.randrange(len(spans))
        c, e = spans[j]
        if e <= a:
            return p[:c] + p[a:b] + p[e:a] + p[c:e] + p[b:]
        if b <= c:
            return p[:a] + p[c:e] + p[b:c] + p[a:b] + p[e:]
        return p
    if choice == 4:                                                 # rename a global
        globals_at = [(x, y) for x, y in spans if p[x:x + 1] in (b"c", b"i")]
        strings_at = [(x, y) for x, y in spans if p[x:x + 1] == b"\x8c"]
        module, name = rng.choice(HOSTILE_GLOBALS)
        if globals_at and rng.random() < 0.5:
            x, y = rng.choice(globals_at)
            return p[:x] + p[x:x + 1] + module + b"\n" + name + b"\n" + p[y:]
        if strings_at:
            x, y = rng.choice(strings_at)
            s = rng.choice([module, name, module + b"\r", b""])
            return p[:x] + b"\x8c" + bytes([len(s)]) + s + p[y:]
        return p[:a] + hostile_snippet(rng) + p[a:]
    # a tuple's length: TUPLE3 -> TUPLE2 or a MARK ... TUPLE with one item more or less
    tuples = [(x, y) for x, y in spans if p[x:x + 1] in (b"\x85", b"\x86", b"\x87", b"t")]
    if tuples:
        x, y = rng.choice(tuples)
        repl = rng.choice([b"\x85", b"\x86", b"\x87", b"N\x86", b"N\x87", b"0\x86", b"Nt"])
        return p[:x] + repl + p[y:]
    return p[:a] + p[a:b] * 2 + p[b:]


def m_legacy_pickle(d, rng, other):
    """A pickle of a legacy file (one of the five) edited at the pickle level."""
    starts = [0]
    for _ in range(5):
        spans = pickle_ops(d, starts[-1])
        if not spans or d[spans[-1][0]:spans[-1][1]] != b".":
            break
        starts.append(spans[-1][1])
    if len(starts) < 2:
        return m_pickle(d, rng, other)
    k = rng.randrange(len(starts) - 1)
    s, e = starts[k], starts[k + 1]
    return d[:s] + m_pickle(d[s:e], rng, other) + d[e:]


def m_splice(d, rng, other):
    if not d or not other:
        return d + other
    return d[:rng.randrange(len(d) + 1)] + other[rng.randrange(len(other) + 1):]


MUTATIONS = [m_flip, m_flip, m_truncate, m_append, m_zip_entries, m_zip_entries, m_zip_entries, m_legacy_pickle,
             m_legacy_pickle, m_splice]


def mutate(seed, rng, seeds):
    d = seed
    history = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        m = rng.choice(MUTATIONS)
        if m is m_legacy_pickle and d[:4] == b"PK\x03\x04":
            m = m_zip_entries
        other = seeds[rng.randrange(len(seeds))][1]
        d = m(d, rng, other)
        history.append(m.__name__)
        if len(d) > 1 << 20:
            d = d[:1 << 20]
    return d, history


# --- the harness side -------------------------------------------------------------------------
class HarnessView:
    """harness_view in batch mode: one process, requests and answers one line each."""

    def __init__(self, exe, timeout=60.0):
        self.exe = exe
        self.timeout = timeout
        self.proc = None
        self.trust_cache = {}

    def start(self):
        self.proc = subprocess.Popen([self.exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     encoding="utf-8", errors="replace", bufsize=1)

    def ask(self, line):
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return None
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        if not ready:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            return {"hung": True}
        answer = self.proc.stdout.readline()
        if not answer:
            status = self.proc.wait()
            self.proc = None
            return {"crashed": status}
        return json.loads(answer)

    def view(self, path):
        return self.ask(path) or {"crashed": "no answer"}

    def trust(self, name):
        if "\n" in name or "\r" in name:
            return "unknown"
        if name not in self.trust_cache:
            self.trust_cache[name] = (self.ask("?global " + name) or {}).get("trust", "unknown")
        return self.trust_cache[name]

    def close(self):
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait()


# --- comparing --------------------------------------------------------------------------------
JUSTIFIED_REFUSALS = ("limit", "unsupported")


def classify(harness, python, expected, trust):
    """The class of disagreement (see the module docstring), or None when the two agree."""
    if "crashed" in harness or "hung" in harness or harness.get("error_kind") == "exception":
        return "harness-error"
    found = set(harness["globals"])
    if harness["accepts"]:
        # The harness names a global as the pickle spells it, torch.load imports it under the
        # name find_class maps it to (__builtin__.eval -> builtins.eval, os.FloatStorage ->
        # torch's storage type): compare in torch.load's names.
        spelled = {raw: imported for imported, raws in python.get("spellings", {}).items() for raw in raws}
        found = {spelled.get(g, g) for g in found}
        found = {g for g in found if g in expected or trust(g) != "known"}
        if not expected <= found:
            return "missing-finding"
        if python["accepts"] is True and found != expected:
            return "other-globals"
        if python["accepts"] is False:
            return "accepts-refused"
        if python["accepts"] is None and python["ambiguous"] and not python["reason"].startswith("not modelled"):
            return "accepts-ambiguous"
        return None
    if python["accepts"] is True:
        kind, error = harness.get("error_kind"), harness.get("error") or ""
        if kind in JUSTIFIED_REFUSALS or (kind == "zip" and "ambiguous" in error):
            return None
        return "refuses-readable"
    return None


FATAL = {"missing-finding", "other-globals", "harness-error"}


def collect_seeds(root):
    seeds = []
    fixtures = os.path.join(root, "fixtures")
    for dirpath, _, files in sorted(os.walk(fixtures)):
        for f in sorted(files):
            if f.endswith((".pt", ".pth", ".bin")):
                path = os.path.join(dirpath, f)
                with open(path, "rb") as fh:
                    seeds.append((os.path.relpath(path, root), fh.read()))
    zip_seed = next((d for n, d in seeds if n.endswith("gan_dcgan_adam.pt")), None)
    for name, d in sorted(hand_made_seeds(zip_seed).items()):
        seeds.append(("hand-made/" + name, d))
    return seeds


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--harness-view", required=True, help="the harness_view executable")
    ap.add_argument("--root", default=".", help="repository root (its fixtures/ are the seeds)")
    ap.add_argument("--seconds", type=float, help="time budget")
    ap.add_argument("--iterations", type=int, help="number of mutated inputs (deterministic)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--artifacts", default=None, help=f"folder for disagreeing inputs (default {DEFAULT_ARTIFACTS})")
    ap.add_argument("--batch", type=int, default=64, help="inputs written and read per round")
    ap.add_argument("--max-saved", type=int, default=20, help="inputs saved per class of disagreement")
    args = ap.parse_args(argv[1:])
    if args.seconds is None and args.iterations is None:
        args.iterations = 300
    artifacts = args.artifacts or os.path.join(args.root, DEFAULT_ARTIFACTS)
    shutil.rmtree(artifacts, ignore_errors=True)
    os.makedirs(artifacts)
    rng = random.Random(args.seed)
    seeds = collect_seeds(args.root)
    harness = HarnessView(args.harness_view)
    counts = {}
    saved = {}
    done = 0
    start = time.monotonic()
    scratch = tempfile.mkdtemp(prefix="ckpt-difffuzz-")

    def more():
        if args.iterations is not None and done >= args.iterations:
            return False
        return args.seconds is None or time.monotonic() - start < args.seconds

    try:
        first_round = True
        while more():
            batch = []
            if first_round:  # every seed as it is, first
                batch = [(name, d, ["seed"]) for name, d in seeds]
                first_round = False
            while len(batch) < args.batch:
                name, d = seeds[rng.randrange(len(seeds))]
                m, history = mutate(d, rng, seeds)
                batch.append((name, m, history))
            if args.iterations is not None:
                batch = batch[:args.iterations - done]
            for i, (name, d, history) in enumerate(batch):
                path = os.path.join(scratch, f"in{i}.bin")
                with open(path, "wb") as f:
                    f.write(d)
                hv = harness.view(path)
                py = stl.result(path, d)
                expected = {g for g in py["globals"] if harness.trust(g) != "known"}
                cls = classify(hv, py, expected, harness.trust)
                done += 1
                if cls is None:
                    continue
                counts[cls] = counts.get(cls, 0) + 1
                n = saved.get(cls, 0)
                if n < args.max_saved:
                    saved[cls] = n + 1
                    base = os.path.join(artifacts, f"{cls}-{n + 1}")
                    with open(base + ".bin", "wb") as f:
                        f.write(d)
                    with open(base + ".json", "w") as f:
                        json.dump({"class": cls, "seed": name, "mutations": history, "harness": hv, "python": py,
                                   "expected_findings": sorted(expected)}, f, indent=2, sort_keys=True)
                if cls in FATAL:
                    print(f"{cls}: from {name} by {'+'.join(history)}: harness {hv.get('accepts')} "
                          f"{hv.get('globals')} / python {py['accepts']} expected {sorted(expected)} "
                          f"-> {base if n < args.max_saved else '(not saved)'}", flush=True)
    finally:
        harness.close()
        shutil.rmtree(scratch, ignore_errors=True)
    elapsed = time.monotonic() - start
    fatal = sum(counts.get(c, 0) for c in FATAL)
    print(f"differential fuzz: {done} inputs in {elapsed:.1f} s ({done / max(elapsed, 1e-9):.1f}/s), seed {args.seed}, "
          f"{len(seeds)} seeds")
    for cls in sorted(counts):
        print(f"  {cls}: {counts[cls]}{'  (UNSAFE)' if cls in FATAL else ''}")
    print(f"{'FAILED' if fatal else 'OK'}: {fatal} unsafe disagreement(s); artifacts in {artifacts}")
    return 1 if fatal else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
