#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "reader/checkpoint.hpp"
#include "reader/read_error.hpp"
#include "support/text_helpers.hpp"
#include "support/zip_builder.hpp"

namespace ckpt::test {

inline Checkpoint read_bytes(const std::string& bytes, const std::string& name = "t.pt") {
  return read_checkpoint(ByteSource::from_memory(name, to_bytes(bytes)));
}

// The ReadError reading `bytes` raises; fails the test when reading succeeds.
inline ReadError error_of(const std::string& bytes, const std::string& name = "t.pt") {
  try {
    read_bytes(bytes, name);
  } catch (const ReadError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a ReadError, but the input was read";
  return ReadError(ReadErrorKind::kIo, "", "", "no error");
}

}  // namespace ckpt::test
