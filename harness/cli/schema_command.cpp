#include "cli/schema_command.hpp"

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "reader/checkpoint.hpp"
#include "text/counted.hpp"
#include "reader/read_error.hpp"
#include "reports/atomic_file.hpp"
#include "results/exit_codes.hpp"
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

// Explicit --module / --optimizer names, else `fallback` (may be null: discovered).
const ComponentNames* chosen_names(const ComponentNameOptions& given, const ComponentNames* fallback,
                                   ComponentNames& storage) {
  if (given.modules.empty() && given.optimizers.empty()) return fallback;
  storage = {given.modules, given.optimizers, ""};
  return &storage;
}

ModelSchema schema_of_located(const std::string& file, const LocatorSpec& locator, const ComponentNames* names) {
  CheckpointSet files(file);
  return schema_of_checkpoint(files, locator, names);
}

ComponentNames names_of(const ModelSchema& schema) {
  ComponentNames names;
  for (const auto& m : schema.modules) names.modules.push_back(m.name);
  for (const auto& o : schema.optimizers) names.optimizers.push_back(o.name);
  return names;
}

// Reports an error of the schema commands; the exit code is the caller's.
void report(const std::exception& e, const char* kind) { std::cerr << "error [" << kind << "]: " << e.what() << "\n"; }
}  // namespace

void add_schema_command(CLI::App& app, SchemaOptions& o, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "schema", "Write a checkpoint schema manifest (JSON): the keys, shapes, dtypes and optimizers a checkpoint "
                "implies, or with --plugin P [--option K=V] a model's (`schema --plugin P --help`). Exit 0 written, "
                "1 unreadable or no state dict, 2 usage error.");
  cmd->add_option("checkpoint", o.checkpoint, "The checkpoint file (read safely: no code from it runs)")->required();
  cmd->add_option("--out,-o", o.out, "Write the manifest here (default: standard output)");
  o.locator.add_to(*cmd);
  o.names.add_to(*cmd);
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
  o.locator.add_to(*cmd);
  o.names.add_to(*cmd);
  cmd->callback([&] { exit_code = run_schema_diff(o); });
}

int run_schema(const SchemaOptions& o) {
  try {
    ComponentNames storage;
    const ModelSchema schema = schema_of_located(o.checkpoint, o.locator.spec, chosen_names(o.names, nullptr, storage));
    if (schema.modules.empty()) {  // the modules named by --module: none is there
      throw SchemaError(o.checkpoint + ": holds none of the modules " + comma_list(o.names.modules) + " where layout '" + o.locator.spec.layout +
                        "' looks (where they are: --map NAME=PATH, or another --layout)");
    }
    write_output(o.out, to_json(schema).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    return kExitOk;
  } catch (const ReadError& e) {
    report(e, to_string(e.kind()));
  } catch (const SchemaError& e) {
    report(e, "schema");
  } catch (const LayoutError& e) {
    report(e, "layout");
  } catch (const KeyRuleError& e) {
    report(e, "key rule");
  } catch (const ReportWriteError& e) {  // the manifest could not be written
    report(e, "output");
    return kExitUsage;
  }
  return kExitUnexpected;  // an unreadable checkpoint: no schema, as diff fails on it
}

int run_schema_diff(const SchemaDiffOptions& o) {
  SchemaDiff diff;
  try {
    // The new side first: a manifest names the components the old checkpoint is read for.
    const bool new_is_manifest = looks_like_json(o.new_file);
    const ModelSchema after = new_is_manifest ? read_model_schema(o.new_file)
                                              : schema_of_located(o.new_file, o.locator.spec, nullptr);
    const ComponentNames model = names_of(after);
    ComponentNames storage;
    const ModelSchema before =
        looks_like_json(o.old_file)
            ? read_model_schema(o.old_file)
            : schema_of_located(o.old_file, o.locator.spec, chosen_names(o.names, new_is_manifest ? &model : nullptr, storage));
    diff = diff_schemas(before, after);
  } catch (const ReadError& e) {
    report(e, to_string(e.kind()));
    return kExitUsage;
  } catch (const SchemaError& e) {
    report(e, "schema");
    return kExitUsage;
  } catch (const LayoutError& e) {
    report(e, "layout");
    return kExitUsage;
  } catch (const KeyRuleError& e) {
    report(e, "key rule");
    return kExitUsage;
  }
  if (o.json) {
    std::cout << schema_diff_json(diff).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    write_schema_diff_text(std::cout, diff);
  }
  return diff.strictly_loadable() ? kExitOk : kExitUnexpected;
}

}  // namespace ckpt
