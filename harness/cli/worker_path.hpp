#pragma once
// ckpt-harness-worker, the LibTorch side of the command line, is installed beside
// ckpt-harness; this is where.
#include <string>

namespace ckpt {

std::string worker_executable(const char* argv0);

}  // namespace ckpt
