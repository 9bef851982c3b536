// The harness's side of the differential fuzz test (tests/differential/differential_fuzz.py):
// what the reader makes of each file, in batch so that a fuzz loop pays one process start
// for many inputs. Links the reader only (no LibTorch); executes nothing from the files.
//
// Protocol: JSON lines, each opening with its schema version.
//   stdin, one request a line:  a file path          -> {"version":1,"file":..,"accepts":..,
//                                                         "globals":[..],"error_kind":..,"error":..}
//                               "?global NAME"       -> {"version":1,"global":NAME,"trust":
//                                                         "known"|"torchscript"|"unknown"}
//   "accepts" is read_checkpoint's success; "globals" the sorted, unique globals of its
//   security findings (those outside the allow-list); "error_kind" the ReadErrorKind name.
//   The second form exposes the allow-list (known_globals.cpp) itself, so that the Python
//   side never keeps a copy of it. One output line per input line, flushed, in order.
#include <iostream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "reader/checkpoint.hpp"
#include "reader/known_globals.hpp"
#include "reader/read_error.hpp"

namespace {

constexpr int kProtocolVersion = 1;

const char* trust_name(ckpt::GlobalTrust trust) {
  switch (trust) {
    case ckpt::GlobalTrust::kKnown: return "known";
    case ckpt::GlobalTrust::kTorchScript: return "torchscript";
    case ckpt::GlobalTrust::kUnknown: return "unknown";
  }
  return "unknown";
}

nlohmann::ordered_json view_of(const std::string& path) {
  nlohmann::ordered_json out;
  out["version"] = kProtocolVersion;
  out["file"] = path;
  try {
    const ckpt::Checkpoint checkpoint = ckpt::read_checkpoint(path);
    std::set<std::string> globals;
    for (const auto& finding : checkpoint.findings()) globals.insert(finding.global);
    out["accepts"] = true;
    out["format"] = ckpt::to_string(checkpoint.format());
    out["globals"] = globals;
    out["error_kind"] = nullptr;
    out["error"] = nullptr;
  } catch (const ckpt::ReadError& e) {
    out["accepts"] = false;
    out["globals"] = nlohmann::json::array();
    out["error_kind"] = ckpt::to_string(e.kind());
    out["error"] = e.where() + ": " + e.what_happened();
  } catch (const std::exception& e) {  // not the reader's error type: a bug the fuzz run reports
    out["accepts"] = false;
    out["globals"] = nlohmann::json::array();
    out["error_kind"] = "exception";
    out["error"] = e.what();
  }
  return out;
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    nlohmann::ordered_json out;
    if (line.rfind("?global ", 0) == 0) {
      const std::string name = line.substr(8);
      out["version"] = kProtocolVersion;
      out["global"] = name;
      out["trust"] = trust_name(ckpt::classify_global(name));
    } else {
      out = view_of(line);
    }
    // Invalid UTF-8 (a mutated name in an error) is replaced, never a reason to stop.
    std::cout << out.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace) << std::endl;
  }
  return 0;
}
