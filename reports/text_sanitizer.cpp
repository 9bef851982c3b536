#include "reports/text_sanitizer.hpp"

namespace ckpt {

namespace {
constexpr const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool allowed_in_xml(char32_t c) {
  if (c == 0x9 || c == 0xA || c == 0xD) return true;
  if (c < 0x20) return false;
  if (c >= 0xD800 && c <= 0xDFFF) return false;
  return c != 0xFFFE && c != 0xFFFF && c <= 0x10FFFF;
}

// Decodes one UTF-8 sequence at `i`; returns its length, or 0 when it is invalid
// (overlong, surrogate, past U+10FFFF, truncated).
std::size_t decode(std::string_view s, std::size_t i, char32_t& c) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t n = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  c = n == 1 ? b0 : n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    c = (c << 6) | (b & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < kMin[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  return n;
}

// Length of an ANSI escape sequence at `i` (ESC [ ... final byte, or ESC and one byte).
std::size_t escape_length(std::string_view s, std::size_t i) {
  if (i + 1 >= s.size()) return 1;
  if (s[i + 1] != '[') return 2;
  std::size_t k = i + 2;
  while (k < s.size() && !(s[k] >= 0x40 && s[k] <= 0x7E)) ++k;
  return k < s.size() ? k - i + 1 : s.size() - i;
}
}  // namespace

std::string sanitize_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '\x1b') {
      i += escape_length(text, i);
      continue;
    }
    char32_t c = 0;
    const std::size_t n = decode(text, i, c);
    if (n == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (allowed_in_xml(c)) {
      out.append(text.data() + i, n);
    } else {
      out += kReplacement;
    }
    i += n;
  }
  return out;
}

std::string sanitize_capped(std::string_view text, std::size_t max_bytes) {
  std::string clean = sanitize_text(text);
  if (clean.size() <= max_bytes) return clean;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(clean[cut]) & 0xC0) == 0x80) --cut;
  const std::size_t left_out = clean.size() - cut;
  clean.resize(cut);
  return clean + "\n... and " + std::to_string(left_out) + " more bytes";
}

std::string one_line(std::string_view text) {
  std::string out = sanitize_text(text);
  for (char& ch : out) {
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  }
  return out;
}

std::string console_line(std::string_view text, std::string_view indent) {
  const std::string clean = sanitize_text(text);
  std::string out;
  out.reserve(clean.size());
  for (char ch : clean) {
    if (ch == '\r') {
      out += ' ';
    } else if (ch == '\n') {
      out += '\n';
      out += indent;
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace ckpt
