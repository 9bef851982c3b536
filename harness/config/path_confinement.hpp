#pragma once
// Paths a config names stay inside its repository. A config arrives with a pull request:
// without this, it could make the harness read any file of the CI machine (and quote its
// first bytes in a report, as it does for a file that is not a checkpoint) or write its
// reports anywhere. Directories outside are allowed only from the command line
// (--allow-path), which the CI script, not the pull request, controls.
//
// Two checks. Here, when the config is read: where each path leads, links followed, so that
// a refusal (a link out, a link loop) is a config error at the line that names the path.
// Then where each file is opened: roots() goes to the reader and the report writer, which
// check the opened descriptor itself (confine/confined_open.hpp), so a link changed after
// the first check still leads nowhere.
#include <optional>
#include <string>
#include <vector>

namespace ckpt {

// The help of --allow-path, on every command that reads a config.
inline constexpr const char* kAllowPathHelp =
    "A directory outside the config's repository that the config's paths may name (repeatable); without it, a "
    "config naming a file outside its repository is an error";

class PathConfinement {
 public:
  PathConfinement() = default;  // confines nothing: for configs built in code
  // The repository is the nearest directory at or above `config_dir` that holds `.git`;
  // without one, `config_dir` itself.
  PathConfinement(const std::string& config_dir, const std::vector<std::string>& allowed_dirs);

  const std::string& root() const { return root_; }
  // The directories files may really lie in (the repository, then --allow-path), resolved;
  // empty when nothing is confined.
  std::vector<std::string> roots() const;

  // Why `path` may not be used, or nothing when it may: the path is resolved through
  // symbolic links first, so a link inside the repository to a file outside is refused, and
  // so is a link loop or a link that cannot be read. `shown` names it in the message (as the
  // config wrote it; default `path`).
  std::optional<std::string> violation(const std::string& path, const std::string& shown = "") const;

  // The same for a path from the command line (--report-dir): trusted as written, so it may
  // lie outside; but once it enters the repository, the repository's links may not lead it
  // out.
  std::optional<std::string> command_line_violation(const std::string& path, const std::string& shown = "") const;

 private:
  bool allows(const std::string& real) const;
  std::string root_;                 // "" when nothing is confined
  std::vector<std::string> allowed_; // canonical
};

}  // namespace ckpt
