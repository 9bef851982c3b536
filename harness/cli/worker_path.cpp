#include "cli/worker_path.hpp"

#include <filesystem>

namespace ckpt {

std::string worker_executable(const char* argv0) {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ((ec ? std::filesystem::path(argv0 ? argv0 : "") : exe).parent_path() / "ckpt-harness-worker").string();
}

}  // namespace ckpt
