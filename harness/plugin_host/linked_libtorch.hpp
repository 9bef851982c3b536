#pragma once
// Which LibTorch a shared library was linked against, read from its dynamic section without
// loading it. Debian's LibTorch libraries carry their version in their sonames
// (libc10.so.1.13, libtorch_cpu.so.2.6), so a plugin's DT_NEEDED entries name the LibTorch it
// needs. A plugin built against another LibTorch fails dlopen for a missing library before its
// descriptor can say which version it wants, or, where both are installed, would load a second
// LibTorch into the process: this check comes first.
#include <string>
#include <vector>

namespace ckpt {

struct LinkedLibtorch {
  std::string version;  // "2.6"
  std::string soname;   // "libtorch_cpu.so.2.6", the entry that said so
};

// Every versioned LibTorch library the file needs, in DT_NEEDED order; none when it is not a
// readable ELF shared library or names no versioned LibTorch library (an upstream LibTorch zip
// has unversioned sonames): no claim is made then.
std::vector<LinkedLibtorch> linked_libtorch(const std::string& path);

}  // namespace ckpt
