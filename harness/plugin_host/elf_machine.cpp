#include "plugin_host/elf_machine.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>

namespace ckpt {

namespace {
struct ElfIdentity {
  int machine = 0;    // e_machine
  int elf_class = 0;  // ELFCLASS32 or ELFCLASS64
};

// The processor and word size an ELF file is built for; nothing when it is not ELF.
std::optional<ElfIdentity> elf_identity(const std::string& path) {
  unsigned char header[20] = {};
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(header), sizeof header)) return std::nullopt;
  if (std::memcmp(header, ELFMAG, SELFMAG) != 0) return std::nullopt;
  const bool little = header[EI_DATA] == ELFDATA2LSB;
  return ElfIdentity{little ? header[18] | (header[19] << 8) : (header[18] << 8) | header[19], header[EI_CLASS]};
}

// This process's own executable says what this machine runs: no list of compiler macros to
// keep in step with the names below.
const std::optional<ElfIdentity>& this_machine() {
  static const std::optional<ElfIdentity> identity = elf_identity("/proc/self/exe");
  return identity;
}

std::string machine_name(int machine) {
  static const std::pair<int, const char*> kNames[] = {
      {EM_X86_64, "x86-64"},        {EM_AARCH64, "AArch64"},        {EM_386, "x86 (32-bit)"},
      {EM_ARM, "ARM (32-bit)"},     {EM_PPC64, "POWER (ppc64)"},    {EM_S390, "IBM Z (s390x)"},
      {EM_RISCV, "RISC-V"},         {EM_MIPS, "MIPS"},              {EM_LOONGARCH, "LoongArch"},
  };
  for (const auto& [id, name] : kNames) {
    if (id == machine) return name;
  }
  return "machine " + std::to_string(machine);
}
}  // namespace

std::optional<std::string> elf_machine_mismatch(const std::string& path) {
  const std::optional<ElfIdentity> plugin = elf_identity(path);
  const std::optional<ElfIdentity>& self = this_machine();
  if (!plugin || !self) return std::nullopt;  // not ELF, or this machine unknown: no claim is made
  if (plugin->machine == self->machine && plugin->elf_class == self->elf_class) return std::nullopt;
  std::string built_for = machine_name(plugin->machine) + " (ELF machine " + std::to_string(plugin->machine);
  if (plugin->elf_class != self->elf_class) built_for += plugin->elf_class == ELFCLASS32 ? ", 32-bit" : ", 64-bit";
  return "built for " + built_for + "), this machine is " + machine_name(self->machine);
}

}  // namespace ckpt
