#pragma once
// `ckpt-harness-worker serve`: the worker process of `ckpt-harness run`. It reads requests
// (one JSON object per line) on fd 3 and writes messages on fd 4, so nothing a plugin
// prints on stdout or stderr can corrupt the conversation:
//   <- {"op":"ready","pid":N,"torch":"1.13.0"}
//   -> {"op":"describe","file":F,"options":{name:{k:v}}}
//   <- {"op":"described","file":F,"ok":true,"name":..,"version":..,"modules":[..],"optimizers":[..]}
//   -> {"op":"run","unit":{...UnitRequest...}}
//   <- {"op":"phase","scenario":S,"component":C} before each case, {"op":"case","case":{...}} after
//   <- {"op":"done","id":ID,"replace":false,"sha256":"..."}
// It serves units until fd 3 closes. Plugins stay loaded between units. "replace": true
// asks the supervisor for a fresh worker (after a memory failure, or when the request left
// many files open: then "open_files_left" and "open_files_limit" say how many, also in
// "described").
namespace ckpt {

inline constexpr int kRequestFd = 3;
inline constexpr int kReplyFd = 4;

int serve();

}  // namespace ckpt
