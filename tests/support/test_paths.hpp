#pragma once
// Where the committed fixtures and built programs are; set by tests/CMakeLists.txt.
#include <string>

namespace ckpt::test {

inline std::string fixture(const std::string& relative) { return std::string(CKPT_FIXTURES_DIR) + "/" + relative; }

}  // namespace ckpt::test
