#pragma once
// `ckpt-harness new-plugin NAME`: writes a buildable plugin project for a model repository
// (CMakeLists.txt against the installed CkptHarness package, NAME.cpp, a Python twin that
// saves a checkpoint, a config that checks it, a README). The templates are
// harness/cli/plugin_template/*.in, embedded in the executable. Exit 0, or 2 for a bad name
// or a file that already exists (nothing is overwritten without --force).
#include <string>
#include <utility>
#include <vector>

namespace CLI {
class App;
}

namespace ckpt {

struct NewPluginOptions {
  std::string name;
  std::string out;  // "": ./NAME
  bool force = false;
};

void add_new_plugin_command(CLI::App& app, NewPluginOptions& options, int& exit_code);
int run_new_plugin(const NewPluginOptions& options);

// The template files with @NAME@ / @CLASS@ filled in: (file name, content), file names
// without ".in" ("plugin.cpp" becomes NAME.cpp). Throws std::invalid_argument for a name
// that cannot be a target, a file name and a plugin name at once.
std::vector<std::pair<std::string, std::string>> plugin_project_files(const std::string& name);

// Embedded by cmake/embed_files.cmake.
const std::vector<std::pair<std::string, std::string>>& plugin_template_files();

}  // namespace ckpt
