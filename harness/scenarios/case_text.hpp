#pragma once
// Building a scenario's case: the outcome, a one-line message, the full details text and
// the structured data reports use. Long lists are capped so a report stays readable.
#include <string>
#include <vector>

#include "results/result_model.hpp"

namespace ckpt {

inline constexpr std::size_t kListCap = 50;

CaseResult make_case(Outcome outcome, std::string message, std::string details = {},
                     nlohmann::json data = nlohmann::json::object());

// "  a\n  b\n  ... and 1,204 more\n" under `title:`; "" when `items` is empty.
std::string bullet_list(const std::string& title, const std::vector<std::string>& items, std::size_t cap = kListCap);
std::string with_thousands(std::uint64_t n);  // 1,204
std::string percent(double fraction);        // "87.5%"; "99.96%", never "100.0%" for a miss
std::string number_text(double v);           // shortest round-trip-ish text

}  // namespace ckpt
