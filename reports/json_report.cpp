#include "reports/json_report.hpp"

namespace ckpt {

void write_json_report(const RunResult& run, std::ostream& out) {
  // The file opens with what it is and its schema version, so a reader knows before the rest
  // (as Catch2's JSON does); the other members follow in the model's (sorted) order.
  const nlohmann::json model = to_json(run);
  nlohmann::ordered_json file;
  file["schema"] = model.at("schema");
  file["schema_version"] = model.at("schema_version");
  for (const auto& [key, value] : model.items()) {
    if (key != "schema" && key != "schema_version") file[key] = value;
  }
  // Invalid UTF-8 from a plugin's output is replaced, never a reason to lose the report.
  out << file.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace ckpt
