#pragma once
// The conversation between the supervisor (`ckpt-harness run`) and its workers
// (`ckpt-harness-worker serve`): every message either side sends, its fields, and the rules
// by which the supervisor takes a reply as what it claims to be. One JSON object per line.
//
//   worker      -> ready      {protocol, pid, torch}            once, before any request
//   supervisor  -> describe   {nonce, file, options, selectors | as}
//   worker      -> described  {nonce, pid, ok, name, version, description, modules, optimizers | error}
//   supervisor  -> run        {nonce, unit: UnitRequest}
//   worker      -> phase      {nonce, pid, unit, scenario, component}   before each case
//   worker      -> case       {nonce, pid, unit, case: CaseResult}       after each case
//   worker      -> done       {nonce, pid, unit, replace, sha256}
//   worker      -> protocol-error {nonce?, pid, error}           a request it could not read
//   forked child -> forked    {nonce, pid, unit}                a process a plugin forked, about to
//                                                                 answer for the worker, says so and exits
//
// Why the envelope: plugins run inside the worker. A plugin that writes to the reply channel
// (by a bug, or a child it forked that carries on with the worker's code) must not be able to
// pass off results as a unit's. Every reply therefore names the request's nonce (128 random
// bits the supervisor draws per request, never written anywhere a plugin would read by
// chance), the unit it belongs to and the process that wrote it; a line that does not carry
// all three as the supervisor expects, that cannot be parsed, or that is longer than
// kMaxLineBytes is a protocol violation of the unit in flight. Replies go to a descriptor the
// supervisor picks at random per worker, not fd 4 where a process's first opened file lands.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/unit_request.hpp"
#include "results/result_model.hpp"

namespace ckpt::protocol {

// Raised whenever a message changes shape; `ready` carries it and the supervisor refuses a
// worker of another version (a `ckpt-harness` and a `ckpt-harness-worker` of two builds).
inline constexpr int kVersion = 2;

inline constexpr int kRequestFd = 3;  // where a worker reads requests
// The reply descriptor is drawn from [kReplyFdLow, limit - kReplyFdMargin), where limit is
// the worker's open-file limit: high enough that no file a plugin opens lands there first.
inline constexpr int kReplyFdLow = 64;
inline constexpr int kReplyFdMargin = 16;
// A reply line longer than this is a violation (a case's details are kilobytes; a megabyte
// model's key lists fit many times over). Bounds what the supervisor buffers per worker.
inline constexpr std::size_t kMaxLineBytes = std::size_t{64} << 20;

enum class Op { kReady, kDescribe, kDescribed, kRun, kPhase, kCase, kDone, kProtocolError, kForked };
const char* to_string(Op op);
std::optional<Op> op_from_string(const std::string& text);

// A fresh nonce: 32 hex digits from the kernel's random source.
std::string new_nonce();

// --- supervisor -> worker ------------------------------------------------------------------

struct DescribeRequest {
  std::string nonce;
  std::string file;
  std::string shown_file;  // `file` as messages name it (relative to the config's repository)
  nlohmann::json options = nlohmann::json::object();  // {NAME: {k: v}}, or the entry's {k: v} with `as`
  nlohmann::json selectors = nlohmann::json::array();  // [[NAME, VERSION-GLOB], ...]
  std::optional<std::pair<std::string, std::string>> as;  // a [[models]] entry: (name, version)
};

struct RunRequest {
  std::string nonce;
  UnitRequest unit;
};

// --- worker -> supervisor ------------------------------------------------------------------

struct Ready {
  int protocol = kVersion;
  long pid = 0;
  std::string torch;
};

struct Described {
  bool ok = false;
  std::string error;
  std::string name, version, description;
  std::vector<std::string> modules, optimizers;
  bool replace = false;  // out of memory, or files left open: the worker asks to be replaced
  int open_files_left = 0, open_files_limit = 0;
};

struct Phase {
  std::string scenario, component;
};

struct Done {
  bool replace = false;
  std::string sha256;
  int open_files_left = 0, open_files_limit = 0;
};

struct ProtocolError {
  std::string error;
};

// Who sent a reply, and for which request and unit: what the supervisor checks.
struct Envelope {
  std::string nonce;
  long pid = 0;
  std::string unit;  // "" for describe replies
};

// One line from a worker, parsed. `body` holds the op's fields; `violation` says why the line
// cannot be taken (unparseable, not an object, unknown op, missing envelope fields).
struct Reply {
  Op op = Op::kProtocolError;
  Envelope envelope;
  nlohmann::json body;
  std::string violation;
};

// Encoding: one line each, newline included. Text that is not valid UTF-8 is replaced, so a
// plugin's bytes in a message can never make a line unwritable.
std::string encode(const DescribeRequest& m);
std::string encode(const RunRequest& m);
std::string encode(const Ready& m);
std::string encode(const Described& m, const Envelope& e);
std::string encode(const Phase& m, const Envelope& e);
std::string encode(const CaseResult& m, const Envelope& e);
std::string encode(const Done& m, const Envelope& e);
std::string encode(const ProtocolError& m, const Envelope& e);
std::string encode_forked(const Envelope& e);

// Decoding a request on the worker's side; throws (nlohmann::json::exception, or
// std::invalid_argument for an op it does not know) when malformed.
Op request_op(const nlohmann::json& j);
DescribeRequest describe_from_json(const nlohmann::json& j);
RunRequest run_from_json(const nlohmann::json& j);

// Decoding a reply on the supervisor's side: never throws.
Reply parse_reply(const std::string& line);
// The typed body of a reply whose op is known; throws nlohmann::json::exception when a
// field is missing or of the wrong type.
Ready ready_from(const Reply& r);
Described described_from(const Reply& r);
Phase phase_from(const Reply& r);
CaseResult case_from(const Reply& r);
Done done_from(const Reply& r);
ProtocolError protocol_error_from(const Reply& r);

}  // namespace ckpt::protocol
