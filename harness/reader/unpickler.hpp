#pragma once
// A pickle reader that executes nothing. It understands the opcodes of protocols 0-5 that
// torch.save / torch::save emit; globals are looked up in an allow-list (known_globals.hpp)
// and anything else becomes an inert kObject / kGlobal, recorded as a security finding.
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "reader/byte_cursor.hpp"
#include "reader/value.hpp"

namespace ckpt {

// A global the pickle names that is not on the allow-list: it would be imported and,
// usually, called by Python's pickle.
struct GlobalReference {
  std::string name;       // "posix.system"
  std::uint64_t offset;   // byte offset of the opcode, within the pickle's cursor region
  const Value* value;     // the kGlobal value it produced
};

// Resolves a persistent id (BINPERSID / PERSID) to a value, usually a kStorage.
using PersistentLoader = std::function<Value*(const Value& pid, ByteCursor& at)>;

class Unpickler {
 public:
  static constexpr std::size_t kMaxBigIntBytes = 1024;
  // Integers of more bytes than this are kept as hexadecimal text ("0x...", "-0x..."),
  // converted in linear time; smaller ones as decimal digits.
  static constexpr std::size_t kMaxDecimalBytes = 64;
  // Values one checkpoint may create (a real state dict needs a few per tensor); bounds
  // memory on inputs that are small on disk but build millions of containers.
  static constexpr std::size_t kMaxValues = 5'000'000;
  // Memory the values may take (ValueArena::charged): the larger of a floor and a multiple
  // of the input the pickle is read from. A real state dict takes about 25 times its
  // pickle; a few bytes of pickle can copy a shared list, string or key again and again.
  static constexpr std::uint64_t kMinMemoryBudget = 512u << 20;
  static constexpr std::uint64_t kMemoryPerInputByte = 32;

  Unpickler(ByteCursor& in, ValueArena& arena, PersistentLoader persistent_load);

  // Reads one pickle, up to and including STOP, and returns its value.
  Value* load();

  const std::vector<GlobalReference>& unknown_globals() const { return unknown_globals_; }

  // `__torch__.` classes are data in a TorchScript / LibTorch archive, whose code/ defines
  // them; anywhere else torch.load cannot import them, so they are findings like any
  // unknown global unless the reader says the pickle is such an archive's.
  void trust_torchscript_classes() { torchscript_classes_ = true; }
  // The classes torch.distributed.checkpoint pickles into a `.metadata` (known_globals.cpp)
  // are data in that file, and findings anywhere else.
  void trust_dcp_metadata_classes() { dcp_metadata_classes_ = true; }

 private:
  // A hashable dict key, interned: keys Python compares equal get the same id. Built once
  // per key value (shared keys are not expanded again), from the ids of a tuple's items.
  struct KeyId {
    std::uint64_t id = 0;
    std::uint64_t expanded = 0;  // bytes of the key written out in full
    std::size_t height = 0;      // tuple levels, itself included
  };
  enum class KeyHash { kHashable, kUnhashable, kTooComplex };
  KeyHash key_id(const Value& key, KeyId& out, std::size_t depth);
  void charge(std::uint64_t bytes) { arena_.charge(bytes); }

  void push(Value* v) { stack_.push_back(v); }
  Value* pop(const char* op);
  Value* top(const char* op);
  std::vector<Value*> pop_mark(const char* op);
  void memo_put(std::uint64_t index);
  Value* memo_get(std::uint64_t index);

  Value* make_global(const std::string& module, const std::string& name, std::size_t op_pos);
  Value* shared_leaf(ValueKind kind, int slot);
  Value* make_int(std::int64_t v);
  Value* make_long(std::string_view bytes);
  Value* make_text(ValueKind kind, std::string_view bytes, const char* op);
  Value* make_sequence(ValueKind kind, std::vector<Value*> items);
  void set_item(Value& target, Value* key, Value* value, const char* op);
  void append(Value& target, Value* item, const char* op);
  Value* call(Value* callable, Value* args, const char* op);
  void build(Value& target, Value* state);
  void dispatch(std::uint8_t op, std::size_t op_pos);

  ByteCursor& in_;
  ValueArena& arena_;
  PersistentLoader persistent_load_;
  std::vector<Value*> stack_;
  std::vector<std::size_t> marks_;
  std::vector<Value*> memo_dense_;
  std::unordered_map<std::uint64_t, Value*> memo_;  // sparse slots beyond memo_dense_
  std::size_t memo_count_ = 0;
  std::uint64_t memory_budget_ = 0;
  std::uint64_t input_bytes_ = 0;
  std::unordered_map<const Value*, KeyId> key_ids_;
  std::unordered_map<std::string, std::uint64_t> interned_keys_;
  std::unordered_map<const Value*, std::unordered_map<std::uint64_t, std::size_t>> key_index_;  // dict -> key id -> entry
  std::vector<GlobalReference> unknown_globals_;
  std::size_t op_pos_ = 0;
  // Immutable leaves shared like CPython's: None, False, True, (), ints 0..256.
  Value* leaves_[4 + 257] = {};
  bool stopped_ = false;
  bool torchscript_classes_ = false;
  bool dcp_metadata_classes_ = false;
};

}  // namespace ckpt
