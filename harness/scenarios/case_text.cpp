#include "scenarios/case_text.hpp"

#include <cstdio>
#include <cstdlib>

namespace ckpt {

CaseResult make_case(Outcome outcome, std::string message, std::string details, nlohmann::json data) {
  CaseResult c;
  c.outcome = outcome;
  c.message = std::move(message);
  c.details = std::move(details);
  c.data = std::move(data);
  return c;
}

std::string with_thousands(std::uint64_t n) {
  std::string digits = std::to_string(n);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<std::size_t>(i), ",");
  return digits;
}

std::string percent(double fraction) {
  // One decimal, more where it would round a miss up to 100% (or a little down to 0%).
  char text[32];
  for (int digits = 1; digits <= 6; ++digits) {
    std::snprintf(text, sizeof text, "%.*f%%", digits, fraction * 100.0);
    const double shown = std::strtod(text, nullptr) / 100.0;
    if ((fraction < 1.0 && shown >= 1.0) || (fraction > 0.0 && shown <= 0.0)) continue;
    break;
  }
  return text;
}

std::string number_text(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

std::string bullet_list(const std::string& title, const std::vector<std::string>& items, std::size_t cap) {
  if (items.empty()) return "";
  std::string out = title + " (" + with_thousands(items.size()) + "):\n";
  for (std::size_t i = 0; i < items.size() && i < cap; ++i) out += "  " + items[i] + "\n";
  if (items.size() > cap) out += "  ... and " + with_thousands(items.size() - cap) + " more\n";
  return out;
}

}  // namespace ckpt
