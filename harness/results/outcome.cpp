#include "results/outcome.hpp"

namespace ckpt {

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPass: return "pass";
    case Outcome::kFail: return "fail";
    case Outcome::kError: return "error";
    case Outcome::kSkipped: return "skipped";
    case Outcome::kExpectedFail: return "expected-fail";
  }
  return "error";
}

std::optional<Outcome> parse_outcome(const std::string& text) {
  for (Outcome o : {Outcome::kPass, Outcome::kFail, Outcome::kError, Outcome::kSkipped, Outcome::kExpectedFail}) {
    if (text == to_string(o)) return o;
  }
  return std::nullopt;
}

int severity(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPass: return 0;
    case Outcome::kExpectedFail: return 1;
    case Outcome::kSkipped: return 2;
    case Outcome::kFail: return 3;
    case Outcome::kError: return 4;
  }
  return 4;
}

}  // namespace ckpt
