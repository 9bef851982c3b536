#include "cli/schema_command.hpp"

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "reader/checkpoint.hpp"
#include "reader/read_error.hpp"
#include "reports/atomic_file.hpp"
#include "schema/checkpoint_schema.hpp"
#include "schema/schema_diff.hpp"

namespace ckpt {

namespace {
// A manifest starts with '{'; anything else is read as a checkpoint (never run: the reader
// executes nothing).
bool looks_like_json(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  char c = 0;
  while (in.get(c)) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return c == '{';
  }
  return false;
}

ModelSchema schema_of_file(const std::string& file) {
  if (looks_like_json(file)) return read_model_schema(file);
  return schema_of_checkpoint(read_checkpoint(file));
}
}  // namespace

void add_schema_command(CLI::App& app, SchemaOptions& o, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "schema", "Write a checkpoint schema manifest (JSON): the keys, shapes, dtypes and optimizers a checkpoint "
                "implies, or with --plugin P [--option K=V] a model's (`schema --plugin P --help`). Exit 0 written, "
                "1 unreadable or no state dict, 2 usage error.");
  cmd->add_option("checkpoint", o.checkpoint, "The checkpoint file (read safely: no code from it runs)")->required();
  cmd->add_option("--out,-o", o.out, "Write the manifest here (default: standard output)");
  cmd->callback([&] { exit_code = run_schema(o); });
}

void add_schema_diff_command(CLI::App& app, SchemaDiffOptions& o, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "schema-diff", "What a model change does to its checkpoints: keys added, removed, renamed, re-shaped and "
                     "re-typed, optimizer changes, and whether checkpoints of OLD still load strictly into NEW. "
                     "Exit 0 they do, 1 they do not, 2 usage error or an input that is not a schema.");
  cmd->add_option("old", o.old_file, "The old model's manifest, or one of its checkpoints")->required();
  cmd->add_option("new", o.new_file, "The new model's manifest (ckpt-harness schema --plugin, write_manifest.py)")->required();
  cmd->add_flag("--json", o.json, "Write JSON (schema ckpt-harness.schema-diff v1)");
  cmd->callback([&] { exit_code = run_schema_diff(o); });
}

int run_schema(const SchemaOptions& o) {
  try {
    write_output(o.out, to_json(schema_of_checkpoint(read_checkpoint(o.checkpoint))).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    return 0;
  } catch (const ReadError& e) {
    std::cerr << "error [" << to_string(e.kind()) << "]: " << e.what() << "\n";
  } catch (const SchemaError& e) {
    std::cerr << "error [schema]: " << e.what() << "\n";
  } catch (const ReportWriteError& e) {  // the manifest could not be written
    std::cerr << "error [output]: " << e.what() << "\n";
    return 2;
  }
  return 1;
}

int run_schema_diff(const SchemaDiffOptions& o) {
  SchemaDiff diff;
  try {
    diff = diff_schemas(schema_of_file(o.old_file), schema_of_file(o.new_file));
  } catch (const ReadError& e) {
    std::cerr << "error [" << to_string(e.kind()) << "]: " << e.what() << "\n";
    return 2;
  } catch (const SchemaError& e) {
    std::cerr << "error [schema]: " << e.what() << "\n";
    return 2;
  }
  if (o.json) {
    std::cout << schema_diff_json(diff).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    write_schema_diff_text(std::cout, diff);
  }
  return diff.strictly_loadable() ? 0 : 1;
}

}  // namespace ckpt
