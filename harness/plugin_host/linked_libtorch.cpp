#include "plugin_host/linked_libtorch.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cctype>
#include <optional>

namespace ckpt {

namespace {
// "libtorch_cpu.so.2.6" or "libc10.so.1.13.0" -> "2.6" / "1.13"; nothing for other libraries.
std::optional<std::string> libtorch_soname_version(const std::string& soname) {
  for (const char* stem : {"libc10.so.", "libtorch_cpu.so.", "libtorch.so."}) {
    const std::string prefix = stem;
    if (soname.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = soname.substr(prefix.size());
    std::size_t dots = 0, end = 0;
    for (; end < rest.size(); ++end) {
      if (rest[end] == '.' && ++dots == 2) break;  // major.minor only: patch releases share an ABI
      if (rest[end] != '.' && !std::isdigit(static_cast<unsigned char>(rest[end]))) return std::nullopt;
    }
    const std::string version = rest.substr(0, end);
    if (version.empty() || version.find('.') == std::string::npos || version.back() == '.') return std::nullopt;
    return version;
  }
  return std::nullopt;
}

struct ElfFile {
  int fd = -1;
  Elf* elf = nullptr;
  ~ElfFile() {
    if (elf != nullptr) elf_end(elf);
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

std::vector<LinkedLibtorch> linked_libtorch(const std::string& path) {
  std::vector<LinkedLibtorch> found;
  if (elf_version(EV_CURRENT) == EV_NONE) return found;
  ElfFile file;
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd < 0) return found;
  file.elf = elf_begin(file.fd, ELF_C_READ, nullptr);
  if (file.elf == nullptr || elf_kind(file.elf) != ELF_K_ELF) return found;
  for (Elf_Scn* section = elf_nextscn(file.elf, nullptr); section != nullptr; section = elf_nextscn(file.elf, section)) {
    GElf_Shdr header;
    if (gelf_getshdr(section, &header) == nullptr || header.sh_type != SHT_DYNAMIC) continue;
    Elf_Data* data = elf_getdata(section, nullptr);
    if (data == nullptr || header.sh_entsize == 0) return found;
    const std::size_t entries = header.sh_size / header.sh_entsize;
    for (std::size_t i = 0; i < entries; ++i) {
      GElf_Dyn entry;
      if (gelf_getdyn(data, static_cast<int>(i), &entry) == nullptr || entry.d_tag == DT_NULL) break;
      if (entry.d_tag != DT_NEEDED) continue;
      const char* name = elf_strptr(file.elf, header.sh_link, entry.d_un.d_val);
      if (name == nullptr) continue;
      if (auto version = libtorch_soname_version(name)) found.push_back({*version, name});
    }
    return found;
  }
  return found;
}

}  // namespace ckpt
