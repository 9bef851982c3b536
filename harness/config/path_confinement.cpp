#include "config/path_confinement.hpp"

#include <cstring>
#include <filesystem>
#include <system_error>

#include "confine/confined_open.hpp"

namespace ckpt {

namespace {
namespace fs = std::filesystem;

fs::path resolved(const fs::path& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path), ec);
  return ec ? fs::absolute(path).lexically_normal() : p;
}

fs::path repository_root(const fs::path& dir) {
  std::error_code ec;
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {
    if (fs::exists(p / ".git", ec)) return p;
    if (p == p.root_path()) break;
  }
  return dir;
}

// Why a path cannot be followed: a loop, or a link that cannot be read.
std::string unresolvable(const std::string& shown, const ResolvedPath& r) {
  if (r.error == ELOOP) return "'" + shown + "' is a symbolic link loop (or leads through one): it resolves to no file";
  return "'" + shown + "' cannot be resolved through its symbolic links: " + std::strerror(r.error);
}
}  // namespace

PathConfinement::PathConfinement(const std::string& config_dir, const std::vector<std::string>& allowed_dirs)
    : root_(repository_root(resolved(config_dir)).string()) {
  for (const auto& dir : allowed_dirs) allowed_.push_back(resolved(dir).string());
}

std::vector<std::string> PathConfinement::roots() const {
  if (root_.empty()) return {};
  std::vector<std::string> out = {root_};
  out.insert(out.end(), allowed_.begin(), allowed_.end());
  return out;
}

bool PathConfinement::allows(const std::string& real) const {
  return is_within(real, root_) || is_within_any(real, allowed_);
}

std::optional<std::string> PathConfinement::violation(const std::string& path, const std::string& shown) const {
  if (root_.empty()) return std::nullopt;
  const std::string name = shown.empty() ? path : shown;
  const ResolvedPath real = resolve_path(path);
  if (real.error != 0) return unresolvable(name, real);
  if (allows(real.path)) return std::nullopt;
  fs::path written = fs::absolute(path).lexically_normal();
  if (written.has_relative_path() && written.filename().empty()) written = written.parent_path();  // "dir/"
  const std::string through = real.path != written.string() ? " (it resolves to " + real.path + ")" : "";
  return "'" + name + "' is outside the repository " + root_ + through +
         ": a config may only name files inside it; allow a directory with --allow-path DIR";
}

std::optional<std::string> PathConfinement::command_line_violation(const std::string& path, const std::string& shown) const {
  if (root_.empty()) return std::nullopt;
  const std::string name = shown.empty() ? path : shown;
  const ResolvedPath real = resolve_path(path);
  if (real.error != 0) return unresolvable(name, real);
  if (allows(real.path)) return std::nullopt;
  // Outside: refused only if some leading part of the path lies in the repository, whose
  // links then led it out (ckpt-report -> /elsewhere committed by a pull request).
  fs::path prefix;
  for (const auto& part : fs::absolute(path).lexically_normal()) {
    prefix /= part;
    const ResolvedPath r = resolve_path(prefix.string());
    if (r.error == 0 && is_within(r.path, root_)) {
      return "'" + name + "' leads out of the repository through a symbolic link (it resolves to " + real.path +
             "): reports may be written only inside it or in an --allow-path DIR";
    }
  }
  return std::nullopt;
}

}  // namespace ckpt
