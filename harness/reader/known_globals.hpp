#pragma once
// The allow-list: globals whose meaning the reader knows and reproduces as data
// (OrderedDict, tensor and parameter rebuilds, storages, dtypes, torch.Size, numpy scalars
// and arrays, ...). Nothing here runs code from the checkpoint.
#include <string>
#include <string_view>

#include "reader/value.hpp"

namespace ckpt {

enum class GlobalTrust {
  kKnown,        // on the allow-list and interpreted
  kTorchScript,  // a `__torch__.` class of a LibTorch / TorchScript archive: data, kept as an object
  kDcpMetadata,  // a class torch.distributed.checkpoint pickles into `.metadata`: data, kept as an object
  kUnknown,      // anything else: inert, and a security finding
};

GlobalTrust classify_global(std::string_view name);

// True for globals that give direct access to code execution, files or processes
// (os.system, builtins.eval, subprocess.*, torch.load, ...): findings about them say so.
bool is_dangerous_global(std::string_view name);

// Reports a malformed call of a known global: `what` says what was expected.
using CallError = void (*)(void* context, const std::string& what);

struct GlobalCall {
  ValueArena& arena;
  void* error_context;
  CallError error;  // never returns
  [[noreturn]] void fail(const std::string& what) const;
};

// The value a bare reference to a known global stands for (torch.float32 -> kDType),
// or nullptr to keep it as a kGlobal.
Value* known_global_value(std::string_view name, ValueArena& arena);

// Calls (REDUCE / NEWOBJ) a known global with `args`; returns nullptr when the global is
// known but has no meaning as a call (the caller then keeps an inert object).
Value* call_known_global(std::string_view name, const Value& args, const GlobalCall& ctx);

// Applies BUILD state to an object made by a known global (numpy dtype and ndarray);
// returns false when the state is not one this reader interprets.
bool build_known_object(Value& target, const Value& state, const GlobalCall& ctx);

}  // namespace ckpt
