// format: the checkpoint parses, and holds no global the team has not accepted.
#include <algorithm>

#include "reader/checkpoint_summary.hpp"
#include "reader/read_error.hpp"
#include "scenarios/case_text.hpp"
#include "scenarios/scenario_functions.hpp"

namespace ckpt {

CaseResult run_format(UnitContext& ctx, const std::string&) {
  const Checkpoint& c = ctx.checkpoint();  // a ReadError becomes a failure in run_unit
  const CheckpointSummary summary = summarize(c.root());
  std::string what = std::string(to_string(c.format())) + ", " + with_thousands(summary.tensors) + " tensors, " +
                     with_thousands(c.file_bytes()) + " bytes";
  // The other files the unit reads (net-files siblings, component files) pass the same checks.
  const std::vector<std::string> files = ctx.files_read();
  std::vector<const Checkpoint*> read{&c};
  std::vector<std::string> unreadable;
  for (std::size_t i = 1; i < files.size(); ++i) {
    try {
      read.push_back(&ctx.files().get(files[i]));
    } catch (const ReadError& e) {
      unreadable.push_back(std::string(to_string(e.kind())) + ": " + e.what());
    }
  }
  if (read.size() > 1) what += ", and " + std::to_string(read.size() - 1) + " file(s) beside it";
  std::vector<std::string> refused, accepted;
  std::string first_refused;  // the first refused global and where it is, for the one-line message
  nlohmann::json findings = nlohmann::json::array();
  for (const Checkpoint* file : read) {
    for (const auto& f : file->findings()) {
      const bool allowed = std::find(ctx.request().allowed_globals.begin(), ctx.request().allowed_globals.end(),
                                     f.global) != ctx.request().allowed_globals.end();
      // A global outside the tree (a header pickle, constants.pkl) is placed by its pickle.
      std::string place = f.path.empty() ? "in the " + f.pickle : "at " + f.path;
      if (file != &c) place += " of " + file->file();
      const std::string line = f.global + " " + place + (f.dangerous ? " (DANGEROUS: executes code when unpickled)" : "");
      if (!allowed && refused.empty()) first_refused = f.global + " (" + place + ")";
      (allowed ? accepted : refused).push_back(line);
      findings.push_back({{"global", f.global}, {"path", f.path}, {"pickle", f.pickle}, {"dangerous", f.dangerous},
                          {"accepted", allowed}, {"file", file->file()}});
    }
  }
  nlohmann::json data{{"format", to_string(c.format())}, {"tensors", summary.tensors}, {"file_bytes", c.file_bytes()},
                      {"findings", findings}, {"files", files}};
  const std::string details = bullet_list("globals accepted by [security] allowed_globals", accepted);
  if (!unreadable.empty()) {
    return make_case(Outcome::kFail, "a file the unit reads beside it cannot be read: " + unreadable.front(),
                     bullet_list("files that cannot be read", unreadable) + details, data);
  }
  if (!refused.empty()) {
    return make_case(Outcome::kFail,
                     "holds " + std::to_string(refused.size()) + " global(s) outside the allow-list: " + first_refused,
                     bullet_list("globals outside the reader's allow-list (not executed; accept reviewed ones in "
                                 "[security] allowed_globals)",
                                 refused) +
                         details,
                     data);
  }
  // A DCP directory whose chunks leave a hole, overlap, or lie in missing or short files: the
  // rest reads, the named tensors cannot.
  std::vector<std::string> damaged;
  for (const Checkpoint* file : read) {
    for (const auto& f : file->integrity_findings()) damaged.push_back(f.message());
  }
  if (!damaged.empty()) {
    data["integrity"] = damaged;
    return make_case(Outcome::kFail,
                     "is damaged (" + std::to_string(damaged.size()) + " finding(s)): " + damaged.front(),
                     bullet_list("parts that do not hold what the checkpoint says (the rest reads)", damaged) + details, data);
  }
  std::string code;
  if (auto it = c.properties().find("torchscript_code_files"); it != c.properties().end()) {
    code = " (a TorchScript program: its " + it->second + " code file(s) are never run, only its data is read)";
    data["torchscript_code_files"] = std::stoi(it->second);
  }
  return make_case(Outcome::kPass, "reads safely: " + what + code, details, data);
}

}  // namespace ckpt
