#pragma once
// Why a shared library cannot be for this machine, read from its ELF header. dlopen says
// only "cannot open shared object file: No such file or directory" for a library built for
// another processor, which sends people looking for a file that is there.
#include <optional>
#include <string>

namespace ckpt {

// "built for AArch64 (ELF machine 183), this machine is x86-64"; nothing when the file is
// not ELF or matches this machine's class and processor.
std::optional<std::string> elf_machine_mismatch(const std::string& path);

}  // namespace ckpt
