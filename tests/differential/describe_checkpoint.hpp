#pragma once
// The C++ side of the differential test: the same canonical description that
// describe_torch_load.py writes from Python's torch.load (format documented there).
#include <string>

#include "reader/checkpoint.hpp"

namespace ckpt::test {

std::string describe_checkpoint(const Checkpoint& checkpoint);
std::string sha256_hex(const void* data, std::size_t size);

}  // namespace ckpt::test
