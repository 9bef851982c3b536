#include "reports/version_matrix.hpp"

#include <algorithm>

namespace ckpt {

const UnitResult* VersionMatrix::at(const std::string& checkpoint, const std::string& version) const {
  auto it = cells.find({checkpoint, version});
  return it == cells.end() ? nullptr : it->second;
}

std::vector<VersionMatrix> version_matrices(const RunResult& run) {
  std::map<std::string, VersionMatrix> by_plugin;
  for (const auto& u : run.units) {
    if (u.plugin.name.empty()) continue;
    VersionMatrix& m = by_plugin[u.plugin.name];
    m.plugin = u.plugin.name;
    if (std::find(m.versions.begin(), m.versions.end(), u.plugin.version) == m.versions.end()) m.versions.push_back(u.plugin.version);
    if (std::find(m.checkpoints.begin(), m.checkpoints.end(), u.checkpoint) == m.checkpoints.end()) m.checkpoints.push_back(u.checkpoint);
    m.cells[{u.checkpoint, u.plugin.version}] = &u;
  }
  std::vector<VersionMatrix> out;
  for (auto& [name, m] : by_plugin) out.push_back(std::move(m));
  return out;
}

}  // namespace ckpt
