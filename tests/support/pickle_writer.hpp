#pragma once
// Writes pickles the way CPython's pickle.Pickler (protocol 2) writes them for torch.save,
// so tests and benchmarks can build large, realistic checkpoints without Python:
//   - every new str, tuple, global and REDUCE result is memoized (BINPUT, or LONG_BINPUT
//     from index 256 on); a value written again is read back with BINGET / LONG_BINGET;
//   - ints as BININT1 / BININT2 / BININT / LONG1, floats as BINFLOAT, str as BINUNICODE;
//   - dict items in batches of 1000 (MARK ... SETITEMS, a lone pair as SETITEM);
//   - tensors as torch 1.13 reduces them: _rebuild_tensor_v2 with a BINPERSID storage id
//     ('storage', torch.<Type>Storage, key, location, numel) and an empty OrderedDict of
//     backward hooks.
// Python memoizes by object identity: equal but distinct strings (storage keys, dict keys
// built at run time) are written again, while the same object ('storage', 'cpu', a class)
// is read back from the memo. `shared_str` and `global` model the latter.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ckpt::test {

class PickleWriter {
 public:
  explicit PickleWriter(int protocol = 2) {
    op(0x80);
    byte(static_cast<std::uint8_t>(protocol));
  }

  // Ends the pickle with STOP and returns it; the writer is spent afterwards.
  std::string finish() {
    op('.');
    return std::move(out_);
  }
  std::size_t size() const { return out_.size(); }

  // --- memo ----------------------------------------------------------------------------
  // Memoizes the value on top of the stack under the next index and returns that index.
  std::uint32_t put() {
    const auto index = next_memo_++;
    if (index < 256) {
      op('q');
      byte(static_cast<std::uint8_t>(index));
    } else {
      op('r');
      u32(index);
    }
    return index;
  }
  void get(std::uint32_t index) {
    if (index < 256) {
      op('h');
      byte(static_cast<std::uint8_t>(index));
    } else {
      op('j');
      u32(index);
    }
  }
  // Pushes the object known as `identity` from the memo if it was written before.
  bool get_if_known(const std::string& identity) {
    auto it = objects_.find(identity);
    if (it == objects_.end()) return false;
    get(it->second);
    return true;
  }
  void remember(const std::string& identity) { objects_.emplace(identity, put()); }

  // --- scalars (never memoized) ------------------------------------------------------------
  void none() { op('N'); }
  void boolean(bool b) { op(b ? 0x88 : 0x89); }
  void integer(std::int64_t v) {
    if (v >= 0 && v <= 0xff) {
      op('K');
      byte(static_cast<std::uint8_t>(v));
    } else if (v >= 0 && v <= 0xffff) {
      op('M');
      byte(static_cast<std::uint8_t>(v & 0xff));
      byte(static_cast<std::uint8_t>(v >> 8));
    } else if (v >= -0x80000000LL && v <= 0x7fffffffLL) {
      op('J');
      u32(static_cast<std::uint32_t>(static_cast<std::int32_t>(v)));
    } else {  // LONG1: minimal little-endian two's complement
      std::string bytes;
      auto u = static_cast<std::uint64_t>(v);
      for (int i = 0; i < 8; ++i) bytes += static_cast<char>((u >> (8 * i)) & 0xff);
      while (bytes.size() > 1) {
        const auto last = static_cast<unsigned char>(bytes.back());
        const auto prev = static_cast<unsigned char>(bytes[bytes.size() - 2]);
        if ((last == 0x00 && !(prev & 0x80)) || (last == 0xff && (prev & 0x80))) {
          bytes.pop_back();
        } else {
          break;
        }
      }
      op(0x8a);
      byte(static_cast<std::uint8_t>(bytes.size()));
      out_ += bytes;
    }
  }
  void real(double v) {  // BINFLOAT, big-endian
    std::uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    op('G');
    for (int i = 7; i >= 0; --i) byte(static_cast<std::uint8_t>((bits >> (8 * i)) & 0xff));
  }

  // --- strings and globals ---------------------------------------------------------------
  // A new str object: written and memoized every time.
  void str(std::string_view s) {
    op('X');
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s.data(), s.size());
    put();
  }
  // The same str object each time (an interned literal such as 'storage' or 'cpu').
  void shared_str(std::string_view s) {
    const std::string identity = "str:" + std::string(s);
    if (get_if_known(identity)) return;
    op('X');
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s.data(), s.size());
    remember(identity);
  }
  void global(std::string_view module, std::string_view name) {
    const std::string identity = "global:" + std::string(module) + "\n" + std::string(name);
    if (get_if_known(identity)) return;
    op('c');
    out_.append(module.data(), module.size());
    out_ += '\n';
    out_.append(name.data(), name.size());
    out_ += '\n';
    remember(identity);
  }

  // --- containers and calls ----------------------------------------------------------------
  void mark() { op('('); }
  // Closes a tuple of `n` items pushed since the matching mark() (for n > 3) or just pushed
  // (n <= 3, no mark), as save_tuple does: EMPTY_TUPLE unmemoized, TUPLE1-3 or TUPLE memoized.
  void tuple(std::size_t n) {
    if (n == 0) {
      op(')');
      return;
    }
    if (n <= 3) {
      op(static_cast<std::uint8_t>(0x84 + n));
    } else {
      op('t');
    }
    put();
  }
  void empty_dict() {
    op('}');
    put();
  }
  void empty_list() {
    op(']');
    put();
  }
  void setitem() { op('s'); }
  void setitems() { op('u'); }
  void append() { op('a'); }
  void appends() { op('e'); }
  void reduce() {  // callable args -> callable(*args), memoized
    op('R');
    put();
  }
  void build() { op('b'); }
  void binpersid() { op('Q'); }

  // Writes `n` key/value pairs into the dict on top of the stack as _batch_setitems does.
  // `write_pair(i)` pushes the i-th key and value.
  template <class WritePair>
  void set_items(std::size_t n, WritePair&& write_pair) {
    for (std::size_t start = 0; start < n; start += kBatchSize) {
      const std::size_t end = start + kBatchSize < n ? start + kBatchSize : n;
      if (end - start == 1) {
        write_pair(start);
        setitem();
        continue;
      }
      mark();
      for (std::size_t i = start; i < end; ++i) write_pair(i);
      setitems();
    }
  }

  // --- torch ---------------------------------------------------------------------------------
  struct Tensor {
    std::string storage_key;                  // record archive/data/<key>
    std::string storage_type = "FloatStorage";
    std::uint64_t storage_numel = 0;          // elements of the storage
    std::string location = "cpu";
    std::int64_t storage_offset = 0;
    std::vector<std::int64_t> sizes;
    std::vector<std::int64_t> strides;
    bool requires_grad = false;
  };

  // Pushes torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
  // OrderedDict()) as Tensor.__reduce_ex__ writes it in torch 1.13. A storage key written
  // before is written again with the same numel (tied weights share the record).
  void tensor(const Tensor& t) {
    global("torch._utils", "_rebuild_tensor_v2");
    mark();
    mark();
    shared_str("storage");
    global("torch", t.storage_type);
    str(t.storage_key);
    shared_str(t.location);
    integer(static_cast<std::int64_t>(t.storage_numel));
    tuple(5);
    binpersid();
    integer(t.storage_offset);
    int_tuple(t.sizes);
    int_tuple(t.strides);
    boolean(t.requires_grad);
    global("collections", "OrderedDict");
    tuple(0);
    reduce();
    tuple(6);
    reduce();
  }

  // Pushes collections.OrderedDict() and fills it with `n` pairs (see set_items).
  template <class WritePair>
  void ordered_dict(std::size_t n, WritePair&& write_pair) {
    global("collections", "OrderedDict");
    tuple(0);
    reduce();
    set_items(n, std::forward<WritePair>(write_pair));
  }

  void int_tuple(const std::vector<std::int64_t>& values) {
    if (values.size() > 3) mark();
    for (auto v : values) integer(v);
    tuple(values.size());
  }

  static constexpr std::size_t kBatchSize = 1000;  // pickle._BATCHSIZE

 private:
  void op(std::uint8_t code) { out_ += static_cast<char>(code); }
  void byte(std::uint8_t b) { out_ += static_cast<char>(b); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) byte(static_cast<std::uint8_t>((v >> (8 * i)) & 0xff));
  }

  std::string out_;
  std::uint32_t next_memo_ = 0;
  std::unordered_map<std::string, std::uint32_t> objects_;
};

// A state dict as torch.save(OrderedDict(...)) writes it: `n` float32 tensors named
// `layer<i>.weight`, each of `floats_per_tensor` elements over its own storage '<i>'.
inline std::string state_dict_pickle(std::size_t n, std::int64_t floats_per_tensor) {
  PickleWriter w;
  w.ordered_dict(n, [&](std::size_t i) {
    w.str("layer" + std::to_string(i) + ".weight");
    PickleWriter::Tensor t;
    t.storage_key = std::to_string(i);
    t.storage_numel = static_cast<std::uint64_t>(floats_per_tensor);
    t.sizes = {floats_per_tensor};
    t.strides = {1};
    w.tensor(t);
  });
  return w.finish();
}

}  // namespace ckpt::test
