#pragma once
// The version matrix of a run, per plugin name: its checkpoints (rows) against its versions
// (columns), in the order units first name them, each cell the unit of that pair. The
// console and the HTML page draw it from here.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "results/result_model.hpp"

namespace ckpt {

struct VersionMatrix {
  std::string plugin;
  std::vector<std::string> versions, checkpoints;
  std::map<std::pair<std::string, std::string>, const UnitResult*> cells;  // (checkpoint, version)
  const UnitResult* at(const std::string& checkpoint, const std::string& version) const;  // nullptr: no such unit
};

// One matrix per plugin name, by name; units with no plugin (format only) are in none.
std::vector<VersionMatrix> version_matrices(const RunResult& run);

}  // namespace ckpt
