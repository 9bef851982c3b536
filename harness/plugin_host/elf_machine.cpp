#include "plugin_host/elf_machine.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>

namespace ckpt {

namespace {
#if defined(__x86_64__)
constexpr int kThisMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr int kThisMachine = EM_AARCH64;
#elif defined(__i386__)
constexpr int kThisMachine = EM_386;
#elif defined(__arm__)
constexpr int kThisMachine = EM_ARM;
#elif defined(__powerpc64__)
constexpr int kThisMachine = EM_PPC64;
#elif defined(__s390x__)
constexpr int kThisMachine = EM_S390;
#elif defined(__riscv)
constexpr int kThisMachine = EM_RISCV;
#else
constexpr int kThisMachine = -1;  // unknown: no claim is made
#endif
constexpr int kThisClass = sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32;

std::string machine_name(int machine) {
  switch (machine) {
    case EM_X86_64: return "x86-64";
    case EM_AARCH64: return "AArch64";
    case EM_386: return "x86 (32-bit)";
    case EM_ARM: return "ARM (32-bit)";
    case EM_PPC64: return "POWER (ppc64)";
    case EM_S390: return "IBM Z (s390x)";
    case EM_RISCV: return "RISC-V";
    case EM_MIPS: return "MIPS";
    default: return "machine " + std::to_string(machine);
  }
}
}  // namespace

std::optional<std::string> elf_machine_mismatch(const std::string& path) {
  unsigned char header[20] = {};
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(header), sizeof header)) return std::nullopt;
  if (std::memcmp(header, ELFMAG, SELFMAG) != 0 || kThisMachine < 0) return std::nullopt;
  const bool little = header[EI_DATA] == ELFDATA2LSB;
  const int machine = little ? header[18] | (header[19] << 8) : (header[18] << 8) | header[19];
  const int elf_class = header[EI_CLASS];
  if (machine == kThisMachine && elf_class == kThisClass) return std::nullopt;
  std::string built_for = machine_name(machine) + " (ELF machine " + std::to_string(machine);
  if (elf_class != kThisClass) built_for += elf_class == ELFCLASS32 ? ", 32-bit" : ", 64-bit";
  return "built for " + built_for + "), this machine is " + machine_name(kThisMachine);
}

}  // namespace ckpt
