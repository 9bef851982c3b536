#!/usr/bin/python3
"""What torch.load(weights_only=False) of PyTorch 1.13 / 2.x would do with a file, decided
statically: nothing is unpickled, imported or called, and torch is never imported.

Usage:
    /usr/bin/python3 tests/differential/static_torch_load.py FILE...    # one JSON line per FILE

For each file, one JSON object:
    {"file": ..., "accepts": true | false | null, "globals": [sorted unique "module.name"],
     "spellings": {...}, "ambiguous": [...], "reason": "..."}

  accepts    true: every version torch.load reads the file to the end; false: every version
             refuses it (before or while unpickling); null: the readers disagree or the
             reading is not modelled (see "ambiguous").
  globals    every global that some version of torch.load, or a reader of the zipfile view,
             would import (find_class) before it stops: GLOBAL, STACK_GLOBAL (the module and
             name strings resolved through the emulated stack and memo) and INST, in every
             pickle that torch.load unpickles (data.pkl; the five pickles of a legacy file).
             Names are as find_class imports them: Python 2 names mapped (protocol < 3, as
             pickle's fix_imports does), 'torch.tensor' read as 'torch._tensor', and a storage
             class name (FloatStorage, ...) is torch's StorageType, imported from nowhere
             (reported as torch.<Name>). Known, allow-listed globals are included: the caller
             filters with the harness's own allow-list.
  spellings  {imported name: [names as the pickle spells them]} where the two differ
             (__builtin__.eval imported as builtins.eval, os.FloatStorage as torch's storage
             type): the harness reports globals as spelled.
  ambiguous  why readers disagree: miniz (torch.load, LibTorch) against Python's zipfile, or
             torch 1.13 against 2.x (CRC-32 checks), or a part this reading does not model
             (TorchScript archives go to torch.jit.load, the pre-0.4 tar format).
  reason     why the file is refused (the first refusal), or "".

How torch.load reads, as modelled here:
  * zip (first bytes PK\\x03\\x04): miniz finds the LAST end-of-central-directory signature with
    22 bytes after it (searching back ~64 KiB in 4 KiB chunks), checks the directory as
    mz_zip_reader_read_central_dir does, and finds records by a case-insensitive binary
    search. PyTorchFileReader takes the archive name from the first entry (it must have a
    '/'), reads '.data/version' or 'version' (std::stoull, 1..10), get_all_records() requires
    every entry inside the archive folder; 'constants.pkl' among them sends the file to
    torch.jit.load (not modelled, no Python import). Else 'byteorder' must be b'little' or
    b'big' (2.x), data.pkl is unpickled with torch's persistent_load: ('storage', type,
    key, location, numel), record data/<key> must exist.
  * anything else: not a tar archive (the pre-0.4 format, not modelled), so five pickles in a
    row: magic number (any pickle whose value must equal the magic), protocol version
    (== 1001), sys info (ignored), the object (persistent ids ('storage', type, root_key,
    location, numel, view_metadata) or ('module', ...)), the storage keys; then per key an
    int64 element count that must match, and its bytes.
  * pickles are walked with pickletools.genops over an emulated stack (marks, memo, fence)
    that stops where pickle's C unpickler would: underflow, missing memo, missing MARK,
    STACK_GLOBAL of non-strings, unsupported protocol, out-of-band buffers, unregistered
    extension codes, invalid UTF-8 in names and BINSTRINGs (torch loads with encoding
    'utf-8'). Calls of globals (REDUCE, NEWOBJ, BUILD) yield opaque values: what the
    allow-listed globals would do with their arguments (tensor rebuilds) is not modelled.
"""
import _compat_pickle
import io
import json
import pickletools
import struct
import sys
import tarfile
import zipfile
import zlib

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
MAX_FILE_FORMAT_VERSION = 10  # caffe2/serialize/versions.h, kMaxSupportedFileFormatVersion
STORAGE_ITEMSIZE = {
    "DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "LongStorage": 8, "IntStorage": 4,
    "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1, "BFloat16Storage": 2,
    "ComplexDoubleStorage": 16, "ComplexFloatStorage": 8, "QInt8Storage": 1, "QInt32Storage": 4,
    "QUInt8Storage": 1, "QUInt4x2Storage": 1, "QUInt2x4Storage": 1,
}


class Refused(Exception):
    """The reader stops here: torch.load raises."""


class Unmodelled(Exception):
    """This reading cannot tell what torch.load would do."""


# --- values of the emulated unpickler ---------------------------------------------------------
class Opaque:
    """Made by a global or a call: its value is unknown (never computed)."""
    def __init__(self, what, global_name=None):
        self.what = what
        self.global_name = global_name


class PList(list):
    pass


class PDict:
    def __init__(self):
        self.items = []


class PSet:
    def __init__(self):
        self.items = []


def unhashable(v, depth=0):
    if isinstance(v, (PList, PDict, PSet, bytearray)):
        return True
    if isinstance(v, tuple) and depth < 50:
        return any(unhashable(x, depth + 1) for x in v)
    return False


# --- the pickle walker --------------------------------------------------------------------------
def _raw_line(data, pos):
    end = data.find(b"\n", pos)
    if end < 0:
        raise Refused("pickle data was truncated (a line without its newline)")
    return data[pos:end], end + 1


def _utf8(raw, what):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(f"{what} is not valid UTF-8")


class PickleWalk:
    """Emulates one pickle.load / Unpickler.load from `start` in `data`.

    wrapper: torch's UnpicklerWrapper.find_class (storage names, torch.tensor mapping).
    persistent_load(pid) -> value, or None for an unpickler without one.
    """

    def __init__(self, data, start, wrapper, persistent_load, globals_out):
        self.data = data
        self.start = start
        self.wrapper = wrapper
        self.persistent_load = persistent_load
        self.globals = globals_out
        self.stack = []
        self.marks = []
        self.memo = {}
        self.proto = 0
        self.end = None

    def find_class(self, module, name):
        spelled = module + "." + name
        if self.wrapper and "Storage" in name and name in STORAGE_ITEMSIZE:
            g = "torch." + name  # StorageType(name): nothing is imported
            self.note(g, spelled)
            return Opaque("storage type", g)
        if self.proto < 3:  # fix_imports
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        if self.wrapper and module == "torch.tensor":
            module = "torch._tensor"
        g = module + "." + name
        self.note(g, spelled)  # imported now, whatever happens next
        if module == "":
            raise Refused("find_class: empty module name")
        if self.proto < 4 and "." in name:
            raise Refused(f"find_class: '{name}' has a dot, which protocol {self.proto} cannot resolve")
        return Opaque("global", g)

    def note(self, imported, spelled):
        self.globals.setdefault(imported, set()).add(spelled)

    # stack primitives (the C unpickler's fence: nothing below the last MARK can be popped)
    def fence(self):
        return self.marks[-1] if self.marks else 0

    def pop(self):
        if len(self.stack) <= self.fence():
            raise Refused("unpickling stack underflow")
        return self.stack.pop()

    def top(self):
        if len(self.stack) <= self.fence():
            raise Refused("unpickling stack underflow")
        return self.stack[-1]

    def pop_mark(self):
        if not self.marks:
            raise Refused("could not find MARK")
        m = self.marks.pop()
        items = self.stack[m:]
        del self.stack[m:]
        return items

    def run(self):
        d = self.data
        ops = pickletools.genops(io.BytesIO(d[self.start:]))
        try:
            for op, arg, pos in ops:
                pos += self.start
                if self.step(op.name, arg, pos):
                    return self.result
        except Refused:
            raise
        except (ValueError, TypeError, struct.error, UnicodeDecodeError, OverflowError, KeyError,
                IndexError) as e:  # genops: truncated or unknown opcode, bad argument
            raise Refused(f"malformed pickle: {e}")
        raise Refused("pickle data was truncated (no STOP)")

    def step(self, name, arg, pos):
        push = self.stack.append
        if name == "PROTO":
            if arg > pickletools.pickle.HIGHEST_PROTOCOL:
                raise Refused(f"unsupported pickle protocol: {arg}")
            self.proto = arg
        elif name == "FRAME":
            if arg > len(self.data) - (pos + 9):
                raise Refused("pickle data was truncated (frame)")
        elif name in ("INT", "LONG", "BININT", "BININT1", "BININT2", "LONG1", "LONG4", "FLOAT", "BINFLOAT",
                      "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "BINBYTES",
                      "SHORT_BINBYTES", "BINBYTES8"):
            push(arg)
        elif name in ("BINSTRING", "SHORT_BINSTRING", "STRING"):
            raw = arg.encode("latin-1") if isinstance(arg, str) else arg
            push(_utf8(raw, name))  # torch.load passes encoding='utf-8'
        elif name == "BYTEARRAY8":
            push(bytearray(arg))
        elif name == "NEXT_BUFFER":
            raise Refused("pickle stream refers to out-of-band data but no buffers were given")
        elif name == "READONLY_BUFFER":
            self.top()
        elif name == "NONE":
            push(None)
        elif name == "NEWTRUE":
            push(True)
        elif name == "NEWFALSE":
            push(False)
        elif name == "EMPTY_TUPLE":
            push(())
        elif name == "TUPLE":
            push(tuple(self.pop_mark()))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            items = [self.pop() for _ in range(n)][::-1]
            push(tuple(items))
        elif name == "EMPTY_LIST":
            push(PList())
        elif name == "LIST":
            push(PList(self.pop_mark()))
        elif name in ("APPEND", "APPENDS"):
            items = [self.pop()] if name == "APPEND" else self.pop_mark()
            target = self.top()
            if isinstance(target, PList):
                target.extend(items)
            elif not isinstance(target, Opaque):
                raise Refused(f"{name} to a {type(target).__name__}")
        elif name == "EMPTY_DICT":
            push(PDict())
        elif name in ("DICT", "SETITEM", "SETITEMS"):
            if name == "SETITEM":
                v = self.pop()
                k = self.pop()
                items = [k, v]
            else:
                items = self.pop_mark()
                if len(items) % 2:
                    raise Refused(f"odd number of items for {name}")
            if name == "DICT":
                target = PDict()
                push(target)
            else:
                target = self.top()
            if isinstance(target, PDict):
                for k in items[0::2]:
                    if unhashable(k):
                        raise Refused("unhashable dict key")
                target.items.extend(zip(items[0::2], items[1::2]))
            elif not isinstance(target, Opaque):
                raise Refused(f"{name} on a {type(target).__name__}")
        elif name == "EMPTY_SET":
            push(PSet())
        elif name in ("ADDITEMS", "FROZENSET"):
            items = self.pop_mark()
            if any(unhashable(x) for x in items):
                raise Refused("unhashable set item")
            if name == "FROZENSET":
                s = PSet()
                s.items = items
                push(s)
            else:
                target = self.top()
                if isinstance(target, PSet):
                    target.items.extend(items)
                elif not isinstance(target, Opaque):
                    raise Refused(f"ADDITEMS on a {type(target).__name__}")
        elif name == "POP":
            if self.marks and self.marks[-1] == len(self.stack):
                self.marks.pop()
            else:
                self.pop()
        elif name == "POP_MARK":
            self.pop_mark()
        elif name == "DUP":
            push(self.top())
        elif name == "MARK":
            self.marks.append(len(self.stack))
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            if arg not in self.memo:
                raise Refused(f"memo value not found at index {arg}")
            push(self.memo[arg])
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            if arg < 0:
                raise Refused("negative PUT argument")
            self.memo[arg] = self.top()
        elif name == "MEMOIZE":
            self.memo[len(self.memo)] = self.top()
        elif name in ("GLOBAL", "INST"):
            module_raw, p = _raw_line(self.data, pos + 1)
            name_raw, _ = _raw_line(self.data, p)
            cls = self.find_class(_utf8(module_raw, name + " module"), _utf8(name_raw, name + " name"))
            if name == "INST":
                self.pop_mark()
                push(Opaque("instance"))
            else:
                push(cls)
        elif name == "STACK_GLOBAL":
            global_name = self.pop()
            module = self.pop()
            if type(global_name) is not str or type(module) is not str:
                if isinstance(global_name, Opaque) or isinstance(module, Opaque):
                    raise Unmodelled("STACK_GLOBAL of a computed value")
                raise Refused("STACK_GLOBAL requires str")
            push(self.find_class(module, global_name))
        elif name == "OBJ":
            items = self.pop_mark()
            if not items:
                raise Refused("unpickling stack underflow (OBJ)")
            self.callable(items[0], "OBJ")
            push(Opaque("instance"))
        elif name in ("NEWOBJ", "NEWOBJ_EX"):
            if name == "NEWOBJ_EX":
                kwargs = self.pop()
                if not isinstance(kwargs, (PDict, Opaque)):
                    raise Refused("NEWOBJ_EX kwargs is not a dict")
            args = self.pop()
            cls = self.pop()
            if not isinstance(args, (tuple, Opaque)):
                raise Refused(f"{name} expected an arg tuple")
            self.callable(cls, name)
            push(Opaque("instance"))
        elif name == "REDUCE":
            args = self.pop()
            fn = self.pop()
            if not isinstance(args, (tuple, Opaque)):
                raise Refused("REDUCE: argument list must be a tuple")
            self.callable(fn, "REDUCE")
            push(Opaque("call result"))
        elif name == "BUILD":
            self.pop()
            self.top()
        elif name in ("EXT1", "EXT2", "EXT4"):
            raise Refused(f"unregistered extension code {arg}")
        elif name in ("PERSID", "BINPERSID"):
            if name == "PERSID":
                pid = arg
            else:
                pid = self.pop()
            if self.persistent_load is None:
                raise Refused("A load persistent id instruction was encountered, but no persistent_load function "
                              "was specified")
            push(self.persistent_load(pid))
        elif name == "STOP":
            self.result = self.pop()
            self.end = pos + 1
            return True
        else:
            raise Unmodelled(f"opcode {name}")
        return False

    @staticmethod
    def callable(v, op):
        if isinstance(v, (str, bytes, bytearray, int, float, type(None), tuple, PList, PDict, PSet)):
            raise Refused(f"{op}: a {type(v).__name__} is not callable")


def walk_pickle(data, start, globals_out, wrapper=False, persistent_load=None):
    w = PickleWalk(data, start, wrapper, persistent_load, globals_out)
    value = w.run()
    return value, w.end


def _decode_ascii(v):
    if isinstance(v, bytes):
        try:
            return v.decode("ascii")
        except UnicodeDecodeError:
            raise Refused("persistent id typename is not ASCII")
    return v


def _storage_name(v):
    if isinstance(v, Opaque) and v.global_name and v.global_name.startswith("torch."):
        return v.global_name[len("torch."):]
    return None


# --- zip: miniz's view and zipfile's -----------------------------------------------------------
class MinizEntry:
    def __init__(self, name, flags, method, crc, csize, size, lho, disk):
        self.name, self.flags, self.method, self.crc = name, flags, method, crc
        self.csize, self.size, self.lho, self.disk = csize, size, lho, disk


def _u16(d, p):
    return struct.unpack_from("<H", d, p)[0]


def _u32(d, p):
    return struct.unpack_from("<I", d, p)[0]


def miniz_directory(d):
    """mz_zip_reader_init + mz_zip_reader_read_central_dir; raises Refused or Unmodelled."""
    size = len(d)
    if size < 22:
        raise Refused("miniz: not an archive (shorter than an end record)")
    sig = b"PK\x05\x06"
    cur = max(size - 4096, 0)
    while True:
        n = min(4096, size - cur)
        p = d.rfind(sig, cur, min(cur + n, size - 22 + 4))
        if p >= 0:
            eocd = p
            break
        if cur == 0 or size - cur >= 0xFFFF + 22:
            raise Refused("miniz: no end-of-central-directory record")
        cur = max(cur - (4096 - 3), 0)
    zip64 = None
    if eocd >= 20 + 56 and d[eocd - 20:eocd - 16] == b"PK\x06\x07":
        z64_ofs = struct.unpack_from("<Q", d, eocd - 12)[0]
        if z64_ofs > size - 56:
            raise Refused("miniz: zip64 end record offset outside the file")
        if d[z64_ofs:z64_ofs + 4] == b"PK\x06\x06":
            zip64 = z64_ofs
    disk, cd_disk, on_disk, total = struct.unpack_from("<HHHH", d, eocd + 4)
    cd_size, cd_ofs = struct.unpack_from("<II", d, eocd + 12)
    if zip64 is not None:
        z = zip64
        if struct.unpack_from("<Q", d, z + 4)[0] < 56 - 12:
            raise Refused("miniz: zip64 end record too small")
        if struct.unpack_from("<I", d, eocd - 4)[0] != 1:
            raise Refused("miniz: zip64 multi-disk archive")
        total, on_disk, cd_size64 = (struct.unpack_from("<Q", d, z + 32)[0], struct.unpack_from("<Q", d, z + 24)[0],
                                     struct.unpack_from("<Q", d, z + 40)[0])
        if total > 0xFFFFFFFF or on_disk > 0xFFFFFFFF:
            raise Refused("miniz: too many files")
        if cd_size64 > 0xFFFFFFFF:
            raise Refused("miniz: central directory too large")
        cd_size = cd_size64
        disk, cd_disk = struct.unpack_from("<II", d, z + 16)
        cd_ofs = struct.unpack_from("<Q", d, z + 48)[0]
    if total > 1_000_000:
        raise Unmodelled("more entries than this reading walks")
    if total != on_disk or ((disk | cd_disk) != 0 and (disk != 1 or cd_disk != 1)):
        raise Refused("miniz: multi-disk archive")
    if cd_size < total * 46 or cd_ofs + cd_size > size:
        raise Refused("miniz: central directory corrupted")
    entries = []
    p, left = cd_ofs, cd_size
    for _ in range(total):
        if left < 46 or d[p:p + 4] != b"PK\x01\x02":
            raise Refused("miniz: central directory header corrupted")
        flags, method = _u16(d, p + 8), _u16(d, p + 10)
        crc, csize, usize = struct.unpack_from("<III", d, p + 16)
        nlen, xlen, clen, disk_start = struct.unpack_from("<HHHH", d, p + 28)
        lho = _u32(d, p + 42)
        if 0xFFFFFFFF in (csize, usize, lho):
            raise Unmodelled("zip64 sizes")
        if (method == 0 and usize != csize) or (usize and not csize):
            raise Refused("miniz: entry sizes corrupted")
        if disk_start == 0xFFFF or (disk_start != disk and disk_start != 1):
            raise Refused("miniz: entry on another disk")
        if lho + 30 + csize > size:
            raise Refused("miniz: entry runs past the end of the file")
        if flags & 0x2000:
            raise Refused("miniz: masked local directory (encryption)")
        total_len = 46 + nlen + xlen + clen
        if total_len > left:
            raise Refused("miniz: central directory header corrupted")
        name = d[p + 46:p + 46 + nlen]
        entries.append(MinizEntry(name, flags, method, crc, csize, usize, lho, disk_start))
        p += total_len
        left -= total_len
    return entries, {"eocd": eocd, "cd_ofs": cd_ofs, "cd_size": cd_size, "left": left}


def miniz_locate(entries, name):
    """mz_zip_reader_locate_file: a case-insensitive match (binary search over sorted names)."""
    folded = name.lower()
    hits = [e for e in entries if e.name.lower() == folded]
    if len(hits) > 1:
        raise Unmodelled(f"records {[h.name for h in hits]} all match '{name.decode(errors='replace')}' "
                         "for miniz's case-insensitive search")
    return hits[0] if hits else None


def miniz_extract(d, e, crc_versions):
    """mz_zip_reader_extract_to_mem. crc_versions: set to which 'crc' is added when the
    CRC-32 is wrong (torch 1.13 checks it, 2.x does not)."""
    if e.flags & (0x1 | 0x20 | 0x40):
        raise Refused("miniz: encrypted or patched entry")
    if e.method not in (0, 8):
        raise Refused(f"miniz: unsupported compression method {e.method}")
    if d[e.lho:e.lho + 4] != b"PK\x03\x04":
        raise Refused("miniz: no local header")
    ofs = e.lho + 30 + _u16(d, e.lho + 26) + _u16(d, e.lho + 28)
    if ofs + e.csize > len(d):
        raise Refused("miniz: entry data past the end of the file")
    raw = d[ofs:ofs + e.csize]
    if e.method == 8:
        try:
            z = zlib.decompressobj(-15)
            data = z.decompress(raw, e.size + 1)
        except zlib.error:
            raise Refused("miniz: inflate failed")
        if len(data) != e.size:
            raise Refused("miniz: inflated size differs")
    else:
        data = raw
    if zlib.crc32(data) != e.crc:
        crc_versions.add(e.name.decode(errors="replace"))
    return data


def zipfile_view(d):
    """What Python's zipfile makes of the archive: {name: (header offset, csize, size)} or an error."""
    try:
        with zipfile.ZipFile(io.BytesIO(d)) as z:
            return {i.filename: (i.header_offset, i.compress_size, i.file_size) for i in z.infolist()}, None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, struct.error, NotImplementedError, OverflowError) as e:
        return None, f"{type(e).__name__}: {e}"


def analyse_zip(d, out):
    g = out["_globals"]
    amb = out["ambiguous"]
    entries, cd = miniz_directory(d)
    # zipfile against miniz: the same entries at the same places, or the readers disagree.
    zview, zerr = zipfile_view(d)
    if zerr:
        amb.append(f"zipfile refuses what miniz reads ({zerr})")
    else:
        mview = {}
        for e in entries:
            try:
                n = e.name.decode("utf-8" if e.flags & 0x800 else "cp437")
            except UnicodeDecodeError:
                n = None
            mview[n] = (e.lho, e.csize, e.size)
        if len(mview) != len(entries) or len(zview) != len(entries) or zview != mview:
            amb.append("zipfile lists other entries (names, offsets or sizes) than miniz")
        if cd["left"]:
            amb.append("the central directory holds more than its count of entries (zipfile reads them)")
        if cd["eocd"] + 22 + _u16(d, cd["eocd"] + 20) != len(d):
            amb.append("the end record's comment does not end the file")
    if not entries:
        raise Refused("archive does not contain any files")
    first = entries[0].name.split(b"\0")[0]
    if b"/" not in first:
        raise Refused("file in archive is not in a subdirectory")
    prefix = first[:first.index(b"/") + 1]
    crc_bad = set()

    def record(name):
        e = miniz_locate(entries, prefix + name)
        return e

    version_entry = record(b".data/version") or record(b"version")
    if version_entry is None:
        raise Refused("no version record")
    text = miniz_extract(d, version_entry, crc_bad).decode("latin-1").lstrip(" \t\n\v\f\r")
    digits = text[1:] if text[:1] in "+-" else text
    n = 0
    while n < len(digits) and digits[n].isdigit() and digits[n].isascii():
        n += 1
    if n == 0:
        raise Refused(f"couldn't parse the version {text!r}")
    value = int(digits[:n])
    if value >= 1 << 64:
        raise Refused("version out of range")
    if text[:1] == "-" and value:
        value = (1 << 64) - value
    if not 1 <= value <= MAX_FILE_FORMAT_VERSION:
        raise Refused(f"unsupported file format version {value}")
    records = []
    for e in entries:  # get_all_records: C strings
        n = e.name.split(b"\0")[0]
        if not n.startswith(prefix):
            raise Refused("file in archive is not in the archive's subdirectory")
        if not n.endswith(b".debug_pkl"):
            records.append(n[len(prefix):])
    if b"constants.pkl" in records:
        amb.append("TorchScript archive: torch.load hands it to torch.jit.load (C++ unpickler, no Python import)")
        raise Unmodelled("torch.jit.load")
    bo = record(b"byteorder")
    if bo is not None:
        order = miniz_extract(d, bo, crc_bad)
        if order not in (b"little", b"big"):
            raise Refused(f"Unknown endianness type: {order!r}")
    pkl = record(b"data.pkl")
    if pkl is None:
        raise Refused("no data.pkl record")
    data = miniz_extract(d, pkl, crc_bad)
    loaded = {}

    def persistent_load(pid):
        if not isinstance(pid, tuple):
            raise Refused("persistent id is not a tuple")
        if not pid or _decode_ascii(pid[0]) != "storage":
            raise Refused("Unknown typename for persistent_load, expected 'storage'")
        if len(pid) != 5:
            raise Refused(f"persistent id of {len(pid)} items, torch.load unpacks 5")
        _, stype, key, location, numel = pid
        if isinstance(key, Opaque):
            raise Unmodelled("computed storage key")
        if not isinstance(key, (str, int, bytes)) or isinstance(key, bool):
            raise Unmodelled(f"storage key of type {type(key).__name__}")
        if key not in loaded:
            if not isinstance(numel, int) or isinstance(numel, bool):
                if isinstance(numel, Opaque):
                    raise Unmodelled("computed numel")
                raise Refused("numel is not an integer")
            skey = key.decode() if isinstance(key, bytes) else str(key)
            if isinstance(key, bytes):
                skey = str(key)  # f'data/{key}' of bytes is "data/b'...'"
            e = record(b"data/" + skey.encode("utf-8", "surrogatepass"))
            if e is None:
                raise Refused(f"storage record data/{skey} is missing")
            miniz_extract(d, e, crc_bad)
            loaded[key] = True
        return Opaque("storage")

    try:
        walk_pickle(data, 0, g, wrapper=True, persistent_load=persistent_load)
    finally:
        if crc_bad:
            amb.append(f"wrong CRC-32 of {sorted(crc_bad)}: torch 1.13 refuses, 2.x reads")
    # zipfile's own data.pkl, when it reads another one: its globals count too.
    if zview is not None:
        try:
            with zipfile.ZipFile(io.BytesIO(d)) as z:
                other = z.read((prefix + b"data.pkl").decode("cp437"))
            if other != data:
                amb.append("zipfile reads another data.pkl than miniz")
                walk_pickle(other, 0, g, wrapper=True, persistent_load=lambda pid: Opaque("storage"))
        except Exception:  # noqa: BLE001 - zipfile refusing is recorded above; only the globals matter here
            pass


# --- legacy ----------------------------------------------------------------------------------
def analyse_legacy(d, out):
    g = out["_globals"]
    value, pos = walk_pickle(d, 0, g)
    if isinstance(value, Opaque):
        raise Unmodelled("computed magic number")
    if type(value) not in (int, bool, float) or value != MAGIC_NUMBER:
        raise Refused("Invalid magic number; corrupt file?")
    value, pos = walk_pickle(d, pos, g)
    if isinstance(value, Opaque):
        raise Unmodelled("computed protocol version")
    if type(value) not in (int, bool, float) or value != PROTOCOL_VERSION:
        raise Refused(f"Invalid protocol version: {value!r}")
    _, pos = walk_pickle(d, pos, g)  # sys info: not looked at
    storages = {}

    def persistent_load(pid):
        if not isinstance(pid, tuple):
            raise Refused("persistent id is not a tuple")
        if not pid:
            raise Refused("empty persistent id")
        typename = _decode_ascii(pid[0])
        data = pid[1:]
        if typename == "module":
            if not data:
                raise Refused("module persistent id without a type")
            if len(data) >= 3 and all(data[1:]):
                raise Unmodelled("_check_container_source")
            return data[0]
        if typename != "storage":
            raise Refused(f"Unknown saved id type: {pid[0]!r}")
        if len(data) != 5:
            raise Refused(f"persistent id of {len(pid)} items, torch.load unpacks 6")
        stype, root_key, location, numel, view_metadata = data
        if isinstance(root_key, Opaque) or unhashable(root_key):
            raise Unmodelled("computed or unhashable storage key")
        name = _storage_name(stype)
        if name not in STORAGE_ITEMSIZE:
            raise Unmodelled("storage type not a torch storage class")
        if not isinstance(numel, int) or isinstance(numel, bool):
            raise Unmodelled("numel is not an integer")
        if root_key not in storages:
            storages[root_key] = (numel, STORAGE_ITEMSIZE[name])
        if view_metadata is not None:
            raise Unmodelled("storage views (view_metadata)")
        return Opaque("storage")

    _, pos = walk_pickle(d, pos, g, wrapper=True, persistent_load=persistent_load)
    keys, pos = walk_pickle(d, pos, g)
    if isinstance(keys, Opaque):
        raise Unmodelled("computed storage keys")
    if isinstance(keys, (PList, tuple)):
        seq = list(keys)
    elif isinstance(keys, PDict):
        seq = [k for k, _ in keys.items]
    else:
        raise Unmodelled(f"storage keys of type {type(keys).__name__}")
    for key in seq:
        if isinstance(key, Opaque) or unhashable(key):
            raise Unmodelled("computed storage key")
        if key not in storages:
            raise Refused(f"storage key {key!r} is not used by the object")
        if pos + 8 > len(d):
            raise Refused("unexpected EOF reading a storage size")
        count = struct.unpack_from("<q", d, pos)[0]
        pos += 8
        numel, itemsize = storages[key]
        if count * itemsize != numel * itemsize:  # THPStorage_readFileRaw
            raise Refused(f"storage has wrong byte size: expected {numel * itemsize} got {count * itemsize}")
        if count < 0 or pos + count * itemsize > len(d):
            raise Refused("unexpected EOF, the file might be corrupted")
        pos += count * itemsize


def analyse(d):
    out = {"accepts": None, "_globals": {}, "ambiguous": [], "reason": ""}
    try:
        if d[:4] == b"PK\x03\x04":
            analyse_zip(d, out)
        else:
            try:
                with tarfile.open(fileobj=io.BytesIO(d), mode="r:", format=tarfile.PAX_FORMAT) as tar:
                    names = tar.getnames()
                is_tar = True
            except (tarfile.TarError, EOFError, OSError, ValueError, UnicodeDecodeError, struct.error):
                is_tar = False
            if is_tar:
                if "storages" not in names:
                    raise Refused("tar format without a 'storages' member (KeyError)")
                out["ambiguous"].append("pre-0.4 tar format, not modelled")
                raise Unmodelled("tar format")
            analyse_legacy(d, out)
        out["accepts"] = None if out["ambiguous"] else True
    except Refused as e:
        out["accepts"] = None if any("CRC" in a for a in out["ambiguous"]) else False
        out["reason"] = str(e)
    except Unmodelled as e:
        out["accepts"] = None
        out["reason"] = f"not modelled: {e}"
    except RecursionError:
        out["accepts"] = None
        out["reason"] = "not modelled: too deep"
    return out


def result(path, d):
    out = analyse(d)
    return {"file": path, "accepts": out["accepts"], "globals": sorted(out["_globals"]),
            "spellings": {g: sorted(s) for g, s in sorted(out["_globals"].items()) if s != {g}},
            "ambiguous": out["ambiguous"], "reason": out["reason"]}


def main(argv):
    for path in argv[1:]:
        with open(path, "rb") as f:
            d = f.read()
        print(json.dumps(result(path, d), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
