#include "reports/json_report.hpp"

namespace ckpt {

void write_json_report(const RunResult& run, std::ostream& out) {
  // Invalid UTF-8 from a plugin's output is replaced, never a reason to lose the report.
  out << to_json(run).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace ckpt
