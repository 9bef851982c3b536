#include "reader/unpickler.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "reader/known_globals.hpp"
#include "reader/utf8.hpp"

namespace ckpt {

namespace {
const char* op_name(std::uint8_t op);

std::string hex_byte(std::uint8_t b) {
  static const char* hex = "0123456789abcdef";
  return std::string("0x") + hex[b >> 4] + hex[b & 15];
}

// Dict keys: equal where Python's keys compare equal (1 == 1.0 == True). Tuple keys are
// bounded in depth (recursion) and in their size written out (a tuple of shared tuples
// doubles at each level: 40 levels fit in 90 bytes of pickle), as before interning.
constexpr std::size_t kMaxKeyDepth = 100;
constexpr std::uint64_t kMaxKeyBytes = 1u << 20;

// The canonical text of a key that is not a tuple; false for unhashable values.
bool leaf_key(const Value& key, std::string& out) {
  switch (key.kind) {
    case ValueKind::kNone: out = "n"; return true;
    case ValueKind::kBool: out = key.boolean ? "i1" : "i0"; return true;
    case ValueKind::kInt: out = key.big_integer ? "I" + key.text : "i" + std::to_string(key.integer); return true;
    case ValueKind::kFloat:
      if (std::isfinite(key.real) && key.real == std::floor(key.real) && std::fabs(key.real) < 9.2e18) {
        out = "i" + std::to_string(static_cast<std::int64_t>(key.real));
      } else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "f%.17g", key.real);
        out = buf;
      }
      return true;
    case ValueKind::kStr: out = "s" + key.text; return true;
    case ValueKind::kBytes: out = "b" + key.text; return true;
    case ValueKind::kDType:
    case ValueKind::kDevice:
    case ValueKind::kGlobal: out = "g" + key.text; return true;
    default: return false;  // lists, dicts, sets are unhashable; objects hash by identity
  }
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t out;
  return __builtin_add_overflow(a, b, &out) ? ~std::uint64_t{0} : out;
}

[[noreturn]] void call_error(void* context, const std::string& what) {
  auto* in = static_cast<ByteCursor*>(context);
  in->fail(ReadErrorKind::kPickle, what);
}
}  // namespace

Unpickler::Unpickler(ByteCursor& in, ValueArena& arena, PersistentLoader persistent_load)
    : in_(in), arena_(arena), persistent_load_(std::move(persistent_load)) {
  input_bytes_ = in_.position() + in_.remaining();
  memory_budget_ = std::max<std::uint64_t>(kMinMemoryBudget, kMemoryPerInputByte * input_bytes_);
}

Unpickler::KeyHash Unpickler::key_id(const Value& key, KeyId& out, std::size_t depth) {
  if (auto it = key_ids_.find(&key); it != key_ids_.end()) {
    out = it->second;
    return depth + out.height > kMaxKeyDepth ? KeyHash::kTooComplex : KeyHash::kHashable;
  }
  std::string canonical;
  KeyId made;
  if (key.kind == ValueKind::kTuple) {
    if (depth >= kMaxKeyDepth) return KeyHash::kTooComplex;
    canonical = "t";
    made.expanded = 3;  // t( )
    made.height = 1;
    for (const Value* item : key.items) {
      KeyId part;
      const KeyHash hash = key_id(*item, part, depth + 1);
      if (hash != KeyHash::kHashable) return hash;
      canonical.append(reinterpret_cast<const char*>(&part.id), sizeof part.id);
      made.expanded = saturating_add(made.expanded, saturating_add(part.expanded, std::to_string(part.expanded).size() + 1));
      if (made.expanded > kMaxKeyBytes) return KeyHash::kTooComplex;
      made.height = std::max(made.height, part.height + 1);
    }
  } else {
    if (!leaf_key(key, canonical)) return KeyHash::kUnhashable;
    made.expanded = canonical.size();
  }
  auto [it, inserted] = interned_keys_.emplace(std::move(canonical), interned_keys_.size());
  if (inserted) charge(it->first.size() + 64);
  made.id = it->second;
  key_ids_.emplace(&key, made);
  charge(64);
  out = made;
  return KeyHash::kHashable;
}

Value* Unpickler::pop(const char* op) {
  const std::size_t floor = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= floor) {
    in_.fail_at(op_pos_, ReadErrorKind::kPickle, std::string("stack underflow in ") + op + ": expected a value on the stack");
  }
  Value* v = stack_.back();
  stack_.pop_back();
  return v;
}

Value* Unpickler::top(const char* op) {
  const std::size_t floor = marks_.empty() ? 0 : marks_.back();
  if (stack_.size() <= floor) {
    in_.fail_at(op_pos_, ReadErrorKind::kPickle, std::string("stack underflow in ") + op + ": expected a value on the stack");
  }
  return stack_.back();
}

std::vector<Value*> Unpickler::pop_mark(const char* op) {
  if (marks_.empty()) {
    in_.fail_at(op_pos_, ReadErrorKind::kPickle, std::string(op) + " without a preceding MARK");
  }
  const std::size_t base = marks_.back();
  marks_.pop_back();
  std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(base), stack_.end());
  stack_.resize(base);
  return items;
}

void Unpickler::memo_put(std::uint64_t index) {
  Value* v = top("PUT");
  if (index >= memo_dense_.size() && index < memo_dense_.size() + 65536) {
    charge((index + 1 - memo_dense_.size()) * sizeof(Value*));  // a few bytes of PUT can add 64 Ki slots
    memo_dense_.resize(index + 1, nullptr);
  }
  if (index < memo_dense_.size()) {
    if (!memo_dense_[index] && !memo_.count(index)) ++memo_count_;
    memo_dense_[index] = v;
    return;
  }
  if (memo_.emplace(index, v).second) {
    ++memo_count_;
    charge(64);
  } else {
    memo_[index] = v;
  }
}

Value* Unpickler::memo_get(std::uint64_t index) {
  if (index < memo_dense_.size() && memo_dense_[index]) return memo_dense_[index];
  auto it = memo_.find(index);
  if (it == memo_.end()) {
    in_.fail_at(op_pos_, ReadErrorKind::kPickle,
                "memo slot " + std::to_string(index) + " read before it was written (" + std::to_string(memo_count_) +
                    " slots set)");
  }
  return it->second;
}

Value* Unpickler::shared_leaf(ValueKind kind, int slot) {
  Value*& v = leaves_[slot];
  if (!v) v = arena_.make(kind);
  return v;
}

Value* Unpickler::make_int(std::int64_t v) {
  if (v >= 0 && v <= 256) {
    Value*& cached = leaves_[4 + v];
    if (!cached) {
      cached = arena_.make(ValueKind::kInt);
      cached->integer = v;
    }
    return cached;
  }
  Value* out = arena_.make(ValueKind::kInt);
  out->integer = v;
  return out;
}

// Little-endian two's complement of any length; beyond 64 bits the value is kept as decimal text.
Value* Unpickler::make_long(std::string_view bytes) {
  if (bytes.size() > kMaxBigIntBytes) {
    in_.fail_at(op_pos_, ReadErrorKind::kLimit,
                "integer of " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                    std::to_string(kMaxBigIntBytes));
  }
  if (bytes.empty()) return make_int(0);
  const bool negative = static_cast<unsigned char>(bytes.back()) & 0x80;
  if (bytes.size() <= 8) {
    std::uint64_t raw = negative ? ~std::uint64_t{0} : 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      raw &= ~(std::uint64_t{0xff} << (8 * i));
      raw |= std::uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
    }
    return make_int(static_cast<std::int64_t>(raw));
  }
  // Magnitude (negated when negative) as little-endian bytes.
  std::vector<std::uint8_t> mag(bytes.begin(), bytes.end());
  if (negative) {
    unsigned carry = 1;
    for (auto& b : mag) {
      unsigned v = static_cast<std::uint8_t>(~b) + carry;
      b = static_cast<std::uint8_t>(v);
      carry = v >> 8;
    }
  }
  while (mag.size() > 1 && mag.back() == 0) mag.pop_back();
  std::string digits;  // least significant first
  if (mag.size() > kMaxDecimalBytes) {
    // Hexadecimal, in linear time: decimal digits cost the square of the length (Python
    // itself refuses to print an int of more than 4300 digits).
    static const char* hex = "0123456789abcdef";
    for (std::uint8_t b : mag) {
      digits.push_back(hex[b & 15]);
      digits.push_back(hex[b >> 4]);
    }
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    digits += "x0";
  } else {  // repeated division by 10 of at most kMaxDecimalBytes bytes
    while (true) {
      bool zero = true;
      unsigned rem = 0;
      for (std::size_t i = mag.size(); i-- > 0;) {
        unsigned cur = (rem << 8) | mag[i];
        mag[i] = static_cast<std::uint8_t>(cur / 10);
        rem = cur % 10;
        if (mag[i] != 0) zero = false;
      }
      digits.push_back(static_cast<char>('0' + rem));
      if (zero) break;
    }
  }
  if (negative) digits.push_back('-');
  Value* out = arena_.make(ValueKind::kInt);
  out->text.assign(digits.rbegin(), digits.rend());
  charge(out->text.size());
  out->big_integer = true;
  // Values that fit in 64 bits after all (non-minimal encodings) stay ordinary ints.
  errno = 0;
  char* end = nullptr;
  long long parsed = std::strtoll(out->text.c_str(), &end, 10);
  if (errno == 0 && end && *end == '\0') {
    out->big_integer = false;
    out->integer = parsed;
    out->text.clear();
  }
  return out;
}

Value* Unpickler::make_text(ValueKind kind, std::string_view bytes, const char* op) {
  if (kind == ValueKind::kStr && !is_valid_utf8(bytes)) {
    in_.fail_at(op_pos_, ReadErrorKind::kPickle, std::string(op) + ": string is not valid UTF-8");
  }
  Value* out = arena_.make(kind);
  out->text.assign(bytes.data(), bytes.size());
  charge(bytes.size());
  return out;
}

Value* Unpickler::make_sequence(ValueKind kind, std::vector<Value*> items) {
  Value* out = arena_.make(kind);
  out->items.assign(items.begin(), items.end());
  charge(items.size() * sizeof(Value*));
  return out;
}

Value* Unpickler::make_global(const std::string& module, const std::string& name, std::size_t op_pos) {
  auto printable = [](const std::string& s) {
    if (s.empty() || s.size() > 512) return false;
    for (unsigned char c : s) {
      if (c < 0x20 || c == 0x7f) return false;
    }
    return true;
  };
  if (!printable(module) || !printable(name)) {
    in_.fail_at(op_pos, ReadErrorKind::kPickle, "global name is empty, too long or not printable");
  }
  const std::string full = module + "." + name;
  if (classify_global(full) == GlobalTrust::kKnown) {
    if (Value* v = known_global_value(full, arena_)) return v;
  }
  Value* g = arena_.make(ValueKind::kGlobal);
  g->text = full;
  const GlobalTrust trust = classify_global(full);
  if (trust == GlobalTrust::kUnknown || (trust == GlobalTrust::kTorchScript && !torchscript_classes_) ||
      (trust == GlobalTrust::kDcpMetadata && !dcp_metadata_classes_)) {
    unknown_globals_.push_back({full, op_pos, g});
  }
  return g;
}

void Unpickler::append(Value& target, Value* item, const char* op) {
  if (target.kind != ValueKind::kList && target.kind != ValueKind::kObject) {
    in_.fail_at(op_pos_, ReadErrorKind::kPickle,
                std::string(op) + " on a " + to_string(target.kind) + ": expected a list");
  }
  target.items.push_back(item);
  charge(sizeof(Value*));
}

void Unpickler::set_item(Value& target, Value* key, Value* value, const char* op) {
  if (target.kind != ValueKind::kDict && target.kind != ValueKind::kObject) {
    in_.fail_at(op_pos_, ReadErrorKind::kPickle,
                std::string(op) + " on a " + to_string(target.kind) + ": expected a dict");
  }
  KeyId id;
  const KeyHash hash = key_id(*key, id, 0);
  if (hash == KeyHash::kTooComplex) {
    in_.fail_at(op_pos_, ReadErrorKind::kLimit,
                std::string(op) + ": a tuple key nested over " + std::to_string(kMaxKeyDepth) + " levels or over " +
                    std::to_string(kMaxKeyBytes >> 20) + " MiB when expanded");
  }
  charge(sizeof(DictEntry));
  if (hash == KeyHash::kUnhashable) {
    if (key->kind == ValueKind::kObject) {
      target.entries.push_back({key, value});  // hashed by identity in Python: never a duplicate
      return;
    }
    in_.fail_at(op_pos_, ReadErrorKind::kPickle,
                std::string(op) + ": a " + to_string(key->kind) + " cannot be a dict key (unhashable)");
  }
  auto& index = key_index_[&target];
  auto [it, inserted] = index.emplace(id.id, target.entries.size());
  if (inserted) {
    charge(48);
    target.entries.push_back({key, value});
  } else {
    target.entries[it->second].value = value;  // Python keeps the first key and position, the last value
  }
}

Value* Unpickler::call(Value* callable, Value* args, const char* op) {
  if (args->kind != ValueKind::kTuple) {
    in_.fail_at(op_pos_, ReadErrorKind::kPickle,
                std::string(op) + ": arguments are a " + to_string(args->kind) + ", expected a tuple");
  }
  if (callable->kind == ValueKind::kGlobal && classify_global(callable->text) == GlobalTrust::kKnown) {
    GlobalCall ctx{arena_, &in_, &call_error};
    std::size_t saved = in_.position();
    in_.seek(op_pos_, "call");  // errors from the call point at the opcode
    const std::size_t values_before = arena_.size();
    Value* result = call_known_global(callable->text, *args, ctx);
    in_.seek(saved, "call");
    if (result && arena_.size() > values_before) {
      // A new value may copy its arguments' items or text (set(), torch.Size, bytearray).
      charge(result->items.size() * sizeof(Value*) + result->entries.size() * sizeof(DictEntry) + result->text.size());
    }
    if (result) return result;
  }
  Value* obj = arena_.make(ValueKind::kObject);
  obj->text = callable->kind == ValueKind::kGlobal ? callable->text : std::string("<result of calling a ") +
                                                                            to_string(callable->kind) + ">";
  obj->args = args;
  return obj;
}

void Unpickler::build(Value& target, Value* state) {
  switch (target.kind) {
    case ValueKind::kDict: {
      // OrderedDict instance state: {'_metadata': ...}; (dict_state, slot_state) also occurs.
      const Value* dict_state = state;
      if (state->kind == ValueKind::kTuple && state->items.size() == 2) dict_state = state->items[0];
      if (dict_state->kind == ValueKind::kNone) return;
      if (dict_state->kind != ValueKind::kDict) {
        in_.fail_at(op_pos_, ReadErrorKind::kPickle, "BUILD on a dict with a " + std::string(to_string(dict_state->kind)) +
                                                         " state: expected a dict of attributes");
      }
      for (const auto& e : dict_state->entries) target.attributes.push_back(e);
      charge(dict_state->entries.size() * sizeof(DictEntry));  // copied at every BUILD
      return;
    }
    case ValueKind::kObject: {
      GlobalCall ctx{arena_, &in_, &call_error};
      if (classify_global(target.text) == GlobalTrust::kKnown && build_known_object(target, *state, ctx)) {
        if (target.ndarray) charge(target.ndarray->bytes.size());
        return;
      }
      target.state = state;
      return;
    }
    case ValueKind::kTensor:
      return;  // Python attributes set on a tensor subclass: not part of the tensor's data
    default:
      in_.fail_at(op_pos_, ReadErrorKind::kPickle,
                  std::string("BUILD on a ") + to_string(target.kind) + ": expected an object or a dict");
  }
}

Value* Unpickler::load() {
  stopped_ = false;
  while (!stopped_) {
    op_pos_ = in_.position();
    if (in_.at_end()) in_.fail(ReadErrorKind::kTruncated, "pickle ends without a STOP opcode");
    if (arena_.size() > kMaxValues) {
      in_.fail(ReadErrorKind::kLimit, "more than " + std::to_string(kMaxValues) + " values in one checkpoint");
    }
    if (arena_.charged() > memory_budget_) {
      in_.fail(ReadErrorKind::kLimit,
               "the values read so far take more than " + std::to_string(memory_budget_ >> 20) +
                   " MiB, the memory limit for a pickle in " + std::to_string(input_bytes_) + " bytes (the larger of " +
                   std::to_string(kMinMemoryBudget >> 20) + " MiB and " + std::to_string(kMemoryPerInputByte) +
                   " times the input): shared values copied again and again?");
    }
    dispatch(in_.u8("opcode"), op_pos_);
  }
  if (!marks_.empty()) in_.fail_at(op_pos_, ReadErrorKind::kPickle, "STOP with an unclosed MARK");
  if (stack_.size() != 1) {
    in_.fail_at(op_pos_, ReadErrorKind::kPickle,
                "STOP with " + std::to_string(stack_.size()) + " values on the stack, expected exactly 1");
  }
  Value* result = stack_.back();
  stack_.clear();
  memo_.clear();
  memo_dense_.clear();
  memo_count_ = 0;
  return result;
}

void Unpickler::dispatch(std::uint8_t op, std::size_t op_pos) {
  switch (op) {
    case 0x80: {  // PROTO
      std::uint8_t proto = in_.u8("protocol");
      if (proto > 5) in_.fail_at(op_pos, ReadErrorKind::kUnsupported, "pickle protocol " + std::to_string(proto) + " (known: 0-5)");
      return;
    }
    case 0x95: {  // FRAME: a length hint only
      std::uint64_t len = in_.u64("frame length");
      if (len > in_.remaining()) in_.fail_at(op_pos, ReadErrorKind::kTruncated, "frame of " + std::to_string(len) + " bytes runs past the end");
      return;
    }
    case '.': stopped_ = true; return;  // STOP
    case '(': marks_.push_back(stack_.size()); return;  // MARK
    case '0': pop("POP"); return;
    case '1': pop_mark("POP_MARK"); return;
    case '2': push(top("DUP")); return;
    case 'N': push(shared_leaf(ValueKind::kNone, 0)); return;
    case 0x88:
    case 0x89: {  // NEWTRUE / NEWFALSE
      Value* b = shared_leaf(ValueKind::kBool, op == 0x88 ? 2 : 1);
      b->boolean = op == 0x88;
      push(b);
      return;
    }
    case 'J': push(make_int(in_.i32("BININT"))); return;
    case 'K': push(make_int(in_.u8("BININT1"))); return;
    case 'M': push(make_int(in_.u16("BININT2"))); return;
    case 0x8a: {  // LONG1
      std::uint8_t n = in_.u8("LONG1 length");
      push(make_long(in_.take(n, "LONG1")));
      return;
    }
    case 0x8b: {  // LONG4
      std::int32_t n = in_.i32("LONG4 length");
      if (n < 0) in_.fail_at(op_pos, ReadErrorKind::kPickle, "LONG4 with negative length");
      push(make_long(in_.take(static_cast<std::uint32_t>(n), "LONG4")));
      return;
    }
    case 'I':
    case 'L': {  // INT / LONG (text)
      std::string text(in_.line(op == 'I' ? "INT" : "LONG"));
      if (op == 'I' && (text == "00" || text == "01")) {
        Value* b = arena_.make(ValueKind::kBool);
        b->boolean = text == "01";
        push(b);
        return;
      }
      if (!text.empty() && text.back() == 'L') text.pop_back();
      errno = 0;
      char* end = nullptr;
      long long v = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || errno != 0 || *end != '\0') in_.fail_at(op_pos, ReadErrorKind::kPickle, "malformed or oversized text integer '" + text.substr(0, 40) + "'");
      push(make_int(v));
      return;
    }
    case 'G': {  // BINFLOAT, big-endian
      std::string_view raw = in_.take(8, "BINFLOAT");
      std::uint64_t bits = 0;
      for (char c : raw) bits = (bits << 8) | static_cast<unsigned char>(c);
      Value* f = arena_.make(ValueKind::kFloat);
      std::memcpy(&f->real, &bits, sizeof bits);
      push(f);
      return;
    }
    case 'F': {  // FLOAT (text)
      std::string text(in_.line("FLOAT"));
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0') in_.fail_at(op_pos, ReadErrorKind::kPickle, "malformed text float");
      Value* f = arena_.make(ValueKind::kFloat);
      f->real = v;
      push(f);
      return;
    }
    case 'X': push(make_text(ValueKind::kStr, in_.take(in_.u32("BINUNICODE length"), "BINUNICODE"), "BINUNICODE")); return;
    case 0x8c: push(make_text(ValueKind::kStr, in_.take(in_.u8("SHORT_BINUNICODE length"), "SHORT_BINUNICODE"), "SHORT_BINUNICODE")); return;
    case 0x8d: push(make_text(ValueKind::kStr, in_.take(in_.u64("BINUNICODE8 length"), "BINUNICODE8"), "BINUNICODE8")); return;
    case 'V': {  // UNICODE (raw-unicode-escape text): accepted without escapes only
      std::string_view text = in_.line("UNICODE");
      if (text.find('\\') != std::string_view::npos) in_.fail_at(op_pos, ReadErrorKind::kUnsupported, "UNICODE opcode with escapes");
      push(make_text(ValueKind::kStr, text, "UNICODE"));
      return;
    }
    case 'T':
    case 'U': {  // BINSTRING / SHORT_BINSTRING: Python 2 str, decoded as UTF-8 like torch.load does
      std::uint64_t n = op == 'T' ? in_.u32("BINSTRING length") : in_.u8("SHORT_BINSTRING length");
      std::string_view raw = in_.take(n, "BINSTRING");
      push(make_text(is_valid_utf8(raw) ? ValueKind::kStr : ValueKind::kBytes, raw, "BINSTRING"));
      return;
    }
    case 'B': push(make_text(ValueKind::kBytes, in_.take(in_.u32("BINBYTES length"), "BINBYTES"), "BINBYTES")); return;
    case 'C': push(make_text(ValueKind::kBytes, in_.take(in_.u8("SHORT_BINBYTES length"), "SHORT_BINBYTES"), "SHORT_BINBYTES")); return;
    case 0x8e:
    case 0x96:  // BINBYTES8 / BYTEARRAY8
      push(make_text(ValueKind::kBytes, in_.take(in_.u64("BINBYTES8 length"), "BINBYTES8"), "BINBYTES8"));
      return;
    case ')': push(shared_leaf(ValueKind::kTuple, 3)); return;
    case 't': push(make_sequence(ValueKind::kTuple, pop_mark("TUPLE"))); return;
    case 0x85:
    case 0x86:
    case 0x87: {  // TUPLE1..3
      std::size_t n = op - 0x84u;
      std::vector<Value*> items(n);
      for (std::size_t i = n; i-- > 0;) items[i] = pop("TUPLEn");
      push(make_sequence(ValueKind::kTuple, std::move(items)));
      return;
    }
    case ']': push(arena_.make(ValueKind::kList)); return;
    case 'l': push(make_sequence(ValueKind::kList, pop_mark("LIST"))); return;
    case 'a': {
      Value* item = pop("APPEND");
      append(*top("APPEND"), item, "APPEND");
      return;
    }
    case 'e': {
      std::vector<Value*> items = pop_mark("APPENDS");
      Value* target = top("APPENDS");
      for (Value* item : items) append(*target, item, "APPENDS");
      return;
    }
    case '}': push(arena_.make(ValueKind::kDict)); return;
    case 'd': {
      std::vector<Value*> items = pop_mark("DICT");
      if (items.size() % 2 != 0) in_.fail_at(op_pos, ReadErrorKind::kPickle, "DICT with an odd number of items");
      Value* dict = arena_.make(ValueKind::kDict);
      for (std::size_t i = 0; i < items.size(); i += 2) set_item(*dict, items[i], items[i + 1], "DICT");
      push(dict);
      return;
    }
    case 's': {
      Value* value = pop("SETITEM");
      Value* key = pop("SETITEM");
      set_item(*top("SETITEM"), key, value, "SETITEM");
      return;
    }
    case 'u': {
      std::vector<Value*> items = pop_mark("SETITEMS");
      if (items.size() % 2 != 0) in_.fail_at(op_pos, ReadErrorKind::kPickle, "SETITEMS with an odd number of items");
      Value* target = top("SETITEMS");
      for (std::size_t i = 0; i < items.size(); i += 2) set_item(*target, items[i], items[i + 1], "SETITEMS");
      return;
    }
    case 0x8f: push(arena_.make(ValueKind::kSet)); return;  // EMPTY_SET
    case 0x90: {  // ADDITEMS
      std::vector<Value*> items = pop_mark("ADDITEMS");
      Value* target = top("ADDITEMS");
      if (target->kind != ValueKind::kSet) in_.fail_at(op_pos, ReadErrorKind::kPickle, std::string("ADDITEMS on a ") + to_string(target->kind) + ": expected a set");
      target->items.insert(target->items.end(), items.begin(), items.end());
      charge(items.size() * sizeof(Value*));
      return;
    }
    case 0x91: {  // FROZENSET
      Value* set = make_sequence(ValueKind::kSet, pop_mark("FROZENSET"));
      set->note = "frozenset";
      push(set);
      return;
    }
    case 'p': {  // PUT (text)
      std::string text(in_.line("PUT"));
      char* end = nullptr;
      unsigned long long idx = std::strtoull(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0') in_.fail_at(op_pos, ReadErrorKind::kPickle, "malformed PUT index");
      memo_put(idx);
      return;
    }
    case 'q': memo_put(in_.u8("BINPUT index")); return;
    case 'r': memo_put(in_.u32("LONG_BINPUT index")); return;
    case 0x94: memo_put(memo_count_); return;  // MEMOIZE
    case 'g': {
      std::string text(in_.line("GET"));
      char* end = nullptr;
      unsigned long long idx = std::strtoull(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0') in_.fail_at(op_pos, ReadErrorKind::kPickle, "malformed GET index");
      push(memo_get(idx));
      return;
    }
    case 'h': push(memo_get(in_.u8("BINGET index"))); return;
    case 'j': push(memo_get(in_.u32("LONG_BINGET index"))); return;
    case 'c': {  // GLOBAL module\nname\n
      std::string module(in_.line("GLOBAL module"));
      std::string name(in_.line("GLOBAL name"));
      push(make_global(module, name, op_pos));
      return;
    }
    case 0x93: {  // STACK_GLOBAL
      Value* name = pop("STACK_GLOBAL");
      Value* module = pop("STACK_GLOBAL");
      if (name->kind != ValueKind::kStr || module->kind != ValueKind::kStr) {
        in_.fail_at(op_pos, ReadErrorKind::kPickle, "STACK_GLOBAL: expected module and name strings");
      }
      push(make_global(module->text, name->text, op_pos));
      return;
    }
    case 'i': {  // INST module\nname\n with MARKed args
      std::string module(in_.line("INST module"));
      std::string name(in_.line("INST name"));
      Value* cls = make_global(module, name, op_pos);
      Value* args = make_sequence(ValueKind::kTuple, pop_mark("INST"));
      push(call(cls, args, "INST"));
      return;
    }
    case 'o': {  // OBJ: MARK cls args...
      std::vector<Value*> items = pop_mark("OBJ");
      if (items.empty()) in_.fail_at(op_pos, ReadErrorKind::kPickle, "OBJ without a class");
      Value* args = make_sequence(ValueKind::kTuple, std::vector<Value*>(items.begin() + 1, items.end()));
      push(call(items[0], args, "OBJ"));
      return;
    }
    case 'R': {
      Value* args = pop("REDUCE");
      Value* callable = pop("REDUCE");
      push(call(callable, args, "REDUCE"));
      return;
    }
    case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
      Value* args = pop("NEWOBJ");
      Value* cls = pop("NEWOBJ");
      push(call(cls, args, "NEWOBJ"));
      return;
    }
    case 0x92: {  // NEWOBJ_EX: cls, args, kwargs
      Value* kwargs = pop("NEWOBJ_EX");
      Value* args = pop("NEWOBJ_EX");
      Value* cls = pop("NEWOBJ_EX");
      Value* obj = call(cls, args, "NEWOBJ_EX");
      if (obj->kind == ValueKind::kObject) obj->state = kwargs;
      push(obj);
      return;
    }
    case 'b': {
      Value* state = pop("BUILD");
      build(*top("BUILD"), state);
      return;
    }
    case 'Q': {  // BINPERSID
      Value* pid = pop("BINPERSID");
      if (!persistent_load_) in_.fail_at(op_pos, ReadErrorKind::kPickle, "persistent id in a pickle that cannot reference storages");
      std::size_t saved = in_.position();
      in_.seek(op_pos, "BINPERSID");
      Value* v = persistent_load_(*pid, in_);
      in_.seek(saved, "BINPERSID");
      push(v);
      return;
    }
    case 'P': {  // PERSID (text)
      Value* pid = make_text(ValueKind::kStr, in_.line("PERSID"), "PERSID");
      if (!persistent_load_) in_.fail_at(op_pos, ReadErrorKind::kPickle, "persistent id in a pickle that cannot reference storages");
      push(persistent_load_(*pid, in_));
      return;
    }
    case 'S':
      in_.fail_at(op_pos, ReadErrorKind::kUnsupported, "protocol-0 STRING opcode (torch.save never writes it)");
    case 0x82:
    case 0x83:
    case 0x84:
      in_.fail_at(op_pos, ReadErrorKind::kUnsupported, std::string(op_name(op)) + ": the copyreg extension registry is not supported");
    case 0x97:
    case 0x98:
      in_.fail_at(op_pos, ReadErrorKind::kUnsupported, std::string(op_name(op)) + ": out-of-band buffers are not supported");
    default:
      in_.fail_at(op_pos, ReadErrorKind::kPickle, "unknown opcode " + hex_byte(op));
  }
}

namespace {
const char* op_name(std::uint8_t op) {
  switch (op) {
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return "opcode";
  }
}
}  // namespace

}  // namespace ckpt
