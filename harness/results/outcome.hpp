#pragma once
// What became of one test case. Expected failures are kept apart from passes and failures
// (as Catch2's failedButOk), so reports can show a known incompatibility as known.
#include <optional>
#include <string>

namespace ckpt {

enum class Outcome {
  kPass,
  kFail,           // an incompatibility or a failed check
  kError,          // a crash, timeout, exception or unreadable input: the check could not run
  kSkipped,        // did not run, with the reason (for example: the module did not load)
  kExpectedFail,   // failed exactly as an expectation declares
};

const char* to_string(Outcome outcome);                      // "pass", "fail", ...
std::optional<Outcome> parse_outcome(const std::string& text);

// Worse outcomes win when a matrix cell shows many cases: error > fail > skipped >
// expected-fail > pass.
int severity(Outcome outcome);

}  // namespace ckpt
