#pragma once
// `ckpt-harness schema CHECKPOINT`: the checkpoint schema a checkpoint implies, as a
// manifest (`schema --plugin P` writes a model's: it runs in ckpt-harness-worker).
// `ckpt-harness schema-diff OLD NEW`: what a model change does to its checkpoints.
//
// Exit codes: schema 0 written, 1 the checkpoint cannot be read or holds no state dict,
// 2 usage error; schema-diff, as diff: 0 old checkpoints still load strictly, 1 they do
// not, 2 usage error or an input that is not a schema.
#include <string>

#include "cli/locator_options.hpp"

namespace CLI {
class App;
}

namespace ckpt {

struct SchemaOptions {
  std::string checkpoint;
  std::string out;  // "": standard output
  LocatorOptions locator;       // where the components are, as `diff` finds them
  ComponentNameOptions names;   // which components (default: what the layout finds)
};

struct SchemaDiffOptions {
  std::string old_file, new_file;  // manifests, or checkpoints (the schema they imply)
  bool json = false;
  // A checkpoint's components are located as `diff` locates them, for the model of the new
  // manifest (its modules and optimizers), or of --module / --optimizer.
  LocatorOptions locator;
  ComponentNameOptions names;
};

void add_schema_command(CLI::App& app, SchemaOptions& options, int& exit_code);
void add_schema_diff_command(CLI::App& app, SchemaDiffOptions& options, int& exit_code);

int run_schema(const SchemaOptions& options);
int run_schema_diff(const SchemaDiffOptions& options);

}  // namespace ckpt
