#include "reports/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace ckpt {

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write,
                           const AllowedDirs& confine_to) {
  std::ostringstream text;
  write(text);
  const std::filesystem::path target(path);
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  const ConfinedFd opened = open_directory_for_writing(dir, confine_to);
  if (opened.outside) {
    throw ReportWriteError("cannot write " + path + ": its directory resolves to " + opened.real +
                           ", outside the directories reports may be written to");
  }
  if (!opened.fd) throw ReportWriteError("cannot write " + path + ": " + std::strerror(opened.error));
  if (const int error = replace_file_at(opened.fd.get(), target.filename().string(), text.str())) {
    throw ReportWriteError("cannot write " + path + ": " + std::strerror(error));
  }
}

void write_output(const std::string& path, const std::string& text) {
  if (path.empty()) {
    std::cout << text;
    return;
  }
  write_file_atomically(path, [&text](std::ostream& out) { out << text; });
  std::cerr << "wrote " << path << "\n";
}

}  // namespace ckpt
