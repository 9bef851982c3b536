#include "plugin_host/plugin_paths.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

namespace ckpt {

namespace fs = std::filesystem;

std::vector<std::string> plugin_search_dirs(const std::vector<std::string>& extra_dirs) {
  std::vector<std::string> dirs = extra_dirs;
  if (const char* env = std::getenv("CKPT_HARNESS_PLUGIN_PATH")) {
    std::string all = env;
    for (std::size_t start = 0; start <= all.size();) {
      const std::size_t end = all.find(':', start);
      const std::string dir = all.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (!dir.empty()) dirs.push_back(dir);
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& candidate : {exe.parent_path() / "plugins", exe.parent_path() / ".." / "lib" / "ckpt-harness" / "plugins"}) {
      if (fs::is_directory(candidate)) dirs.push_back(fs::weakly_canonical(candidate).string());
    }
  }
  return dirs;
}

std::vector<std::string> plugin_files_in(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return {path};
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (entry.path().extension() != ".so") continue;
    std::error_code status;
    const bool regular = entry.is_regular_file(status);
    // A link loop is listed, to be refused where it is used: never a reason to throw here.
    if (regular || (status && status != std::errc::no_such_file_or_directory)) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

int compare_versions(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      std::size_t ei = i, ej = j;
      while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei]))) ++ei;
      while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej]))) ++ej;
      const std::string x = a.substr(i, ei - i), y = b.substr(j, ej - j);
      const std::string xs = x.substr(std::min(x.find_first_not_of('0'), x.size()));
      const std::string ys = y.substr(std::min(y.find_first_not_of('0'), y.size()));
      if (xs.size() != ys.size()) return xs.size() < ys.size() ? -1 : 1;
      if (xs != ys) return xs < ys ? -1 : 1;
      i = ei;
      j = ej;
      continue;
    }
    if (i >= a.size()) return -1;
    if (j >= b.size()) return 1;
    if (a[i] != b[j]) return a[i] < b[j] ? -1 : 1;
    ++i;
    ++j;
  }
  return 0;
}

}  // namespace ckpt
