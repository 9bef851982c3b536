#include "cli/value_text.hpp"

#include <charconv>
#include <cmath>

namespace ckpt {

std::string format_bytes(std::uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  }
  return buf;
}

std::string format_count(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // Python's repr: the shortest digits that round-trip, in fixed notation for exponents
  // -4..15 and scientific otherwise (0.0002, 1e-08, 1e+16), as users see in Python.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string sci(buf, res.ptr);
  const std::size_t e = sci.find('e');
  const bool negative = sci[0] == '-';
  std::string digits;
  for (std::size_t i = negative ? 1 : 0; i < e; ++i) {
    if (sci[i] != '.') digits += sci[i];
  }
  const int exponent = std::stoi(sci.substr(e + 1));
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + exp;
  }
  if (exponent < 0) return out + "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
  const auto int_digits = static_cast<std::size_t>(exponent + 1);
  if (digits.size() <= int_digits) return out + digits + std::string(int_digits - digits.size(), '0') + ".0";
  return out + digits.substr(0, int_digits) + "." + digits.substr(int_digits);
}

namespace {
std::string render(const Value& v, std::size_t budget) {
  switch (v.kind) {
    case ValueKind::kNone: return "None";
    case ValueKind::kBool: return v.boolean ? "True" : "False";
    case ValueKind::kInt: return v.big_integer ? v.text : std::to_string(v.integer);
    case ValueKind::kFloat: return format_float(v.real);
    case ValueKind::kStr: return python_quote(v.text);
    case ValueKind::kBytes: {
      std::string out = "b'";
      for (unsigned char c : v.text) {
        if (out.size() > budget) break;
        char buf[8];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
          out += static_cast<char>(c);
        } else {
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        }
      }
      return out + "'";
    }
    case ValueKind::kDType: return "torch." + v.text;
    case ValueKind::kDevice: return "device('" + v.text + "')";
    case ValueKind::kTuple:
    case ValueKind::kList:
    case ValueKind::kSet: {
      const char* open = v.kind == ValueKind::kTuple ? "(" : v.kind == ValueKind::kList ? "[" : "{";
      const char* close = v.kind == ValueKind::kTuple ? ")" : v.kind == ValueKind::kList ? "]" : "}";
      std::string out = open;
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (out.size() > budget) return out + ", ...";
        out += (i ? ", " : "") + render(*v.items[i], budget);
      }
      if (v.kind == ValueKind::kTuple && v.items.size() == 1) out += ",";
      return out + close;
    }
    default: return std::string("<") + to_string(v.kind) + ">";
  }
}
}  // namespace

std::string format_scalar(const Value& v, std::size_t max_chars) {
  std::string out = render(v, max_chars);
  if (out.size() > max_chars) out = out.substr(0, max_chars) + "...";
  return out;
}

}  // namespace ckpt
