#pragma once
// The machine-readable view of `inspect` (schema "ckpt-harness.inspect", version 1).
#include <nlohmann/json.hpp>

#include "reader/checkpoint.hpp"
#include "reader/read_error.hpp"

namespace ckpt {

inline constexpr int kInspectSchemaVersion = 1;

// `integrity`: the checkpoint's integrity findings (a DCP directory's, and its records' check).
nlohmann::ordered_json inspect_json(const Checkpoint& checkpoint, std::size_t max_depth,
                                    const std::vector<std::string>& allowed_globals,
                                    const std::vector<IntegrityFinding>& integrity);
nlohmann::ordered_json inspect_error_json(const std::string& file, const ReadError& error);

}  // namespace ckpt
