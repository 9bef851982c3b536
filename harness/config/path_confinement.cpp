#include "config/path_confinement.hpp"

#include <filesystem>
#include <system_error>

namespace ckpt {

namespace {
namespace fs = std::filesystem;

fs::path resolved(const fs::path& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path), ec);
  return ec ? fs::absolute(path).lexically_normal() : p;
}

bool is_within(const fs::path& path, const fs::path& dir) {
  const fs::path relative = path.lexically_relative(dir);
  return !relative.empty() && *relative.begin() != "..";
}

fs::path repository_root(const fs::path& dir) {
  std::error_code ec;
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {
    if (fs::exists(p / ".git", ec)) return p;
    if (p == p.root_path()) break;
  }
  return dir;
}
}  // namespace

PathConfinement::PathConfinement(const std::string& config_dir, const std::vector<std::string>& allowed_dirs)
    : root_(repository_root(resolved(config_dir)).string()) {
  for (const auto& dir : allowed_dirs) allowed_.push_back(resolved(dir).string());
}

std::optional<std::string> PathConfinement::violation(const std::string& path) const {
  if (root_.empty()) return std::nullopt;
  const fs::path real = resolved(path);
  if (is_within(real, root_)) return std::nullopt;
  for (const auto& dir : allowed_) {
    if (is_within(real, dir)) return std::nullopt;
  }
  const std::string through = real != fs::absolute(path).lexically_normal() ? " (it resolves to " + real.string() + ")" : "";
  return "'" + path + "' is outside the repository " + root_ + through +
         ": a config may only name files inside it; allow a directory with --allow-path DIR";
}

}  // namespace ckpt
