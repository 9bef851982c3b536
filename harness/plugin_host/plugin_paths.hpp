#pragma once
// Where plugins are found, without loading any: explicit paths, --plugin-dir,
// $CKPT_HARNESS_PLUGIN_PATH, and the `plugins/` directory beside the executable (where the
// build and the install put them). Used by the supervisor, which never loads a plugin.
#include <string>
#include <vector>

namespace ckpt {

std::vector<std::string> plugin_search_dirs(const std::vector<std::string>& extra_dirs);

// The plugin files of a directory (every *.so, sorted), or the path itself if it is a file.
std::vector<std::string> plugin_files_in(const std::string& path);

// Orders versions by their numeric components ("1.10.0" > "1.9.2"), then as text.
int compare_versions(const std::string& a, const std::string& b);

}  // namespace ckpt
