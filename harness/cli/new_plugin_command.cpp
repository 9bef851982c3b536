#include "cli/new_plugin_command.hpp"

#include <CLI/CLI.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "results/exit_codes.hpp"

namespace ckpt {
namespace {
namespace fs = std::filesystem;

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// my_gan -> MyGan: the C++ class of the architecture.
std::string class_name(const std::string& name) {
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> plugin_project_files(const std::string& name) {
  // One name serves as CMake target, file name, C++ identifier part and plugin name.
  const bool valid = !name.empty() && name.size() <= 64 && std::islower(static_cast<unsigned char>(name[0])) &&
                     name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
  if (!valid) {
    throw std::invalid_argument("plugin name '" + name +
                                "': expected lower-case letters, digits and '_', starting with a letter (e.g. my_gan)");
  }
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& [file, text] : plugin_template_files()) {
    std::string target = file.substr(0, file.size() - 3);  // drop ".in"
    if (target == "plugin.cpp") target = name + ".cpp";
    files.emplace_back(target, replace_all(replace_all(text, "@NAME@", name), "@CLASS@", class_name(name)));
  }
  return files;
}

int run_new_plugin(const NewPluginOptions& o) {
  std::vector<std::pair<std::string, std::string>> files;
  try {
    files = plugin_project_files(o.name);
  } catch (const std::invalid_argument& e) {
    std::cerr << "error [new-plugin]: " << e.what() << "\n";
    return kExitUsage;
  }
  const fs::path dir = o.out.empty() ? fs::path(o.name) : fs::path(o.out);
  for (const auto& [file, text] : files) {
    if (!o.force && fs::exists(dir / file)) {
      std::cerr << "error [new-plugin]: " << (dir / file).string() << " already exists (nothing written; --force overwrites)\n";
      return kExitUsage;
    }
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (const auto& [file, text] : files) {
    std::ofstream out(dir / file, std::ios::binary);
    out << text;
    if (!out.flush()) {
      std::cerr << "error [new-plugin]: cannot write " << (dir / file).string() << "\n";
      return kExitUsage;
    }
    std::cout << "wrote " << (dir / file).string() << "\n";
  }
  std::cout << "next: see " << (dir / "README.md").string() << " (build, save a checkpoint, run the checks)\n";
  return kExitOk;
}

void add_new_plugin_command(CLI::App& app, NewPluginOptions& o, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "new-plugin", "Write a buildable plugin project for your model's repository (CMake against the installed "
                    "harness, the plugin source, a Python script that saves a checkpoint, a config that checks it)");
  cmd->add_option("name", o.name, "Plugin name: lower-case letters, digits, '_' (e.g. my_gan)")->required();
  cmd->add_option("--out", o.out, "Directory to write (default: ./NAME)");
  cmd->add_flag("--force", o.force, "Overwrite files that exist");
  cmd->callback([&] { exit_code = run_new_plugin(o); });
}

}  // namespace ckpt
