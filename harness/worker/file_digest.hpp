#pragma once
// SHA-256 of a file, for reports (which exact checkpoint was checked); "" when unreadable.
#include <string>

namespace ckpt {

std::string sha256_of_file(const std::string& path);

}  // namespace ckpt
