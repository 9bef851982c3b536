#include "reports/xml_writer.hpp"

#include <stdexcept>

#include "reports/text_sanitizer.hpp"

namespace ckpt {

namespace {
// Markup escaping after sanitize_text. In attributes, whitespace other than spaces becomes
// character references: attribute normalisation would turn it into spaces.
std::string escape(const std::string& text, bool attribute) {
  std::string out;
  for (char c : sanitize_text(text)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;  // "]]>" must not appear in text
      case '"': out += "&quot;"; break;
      case '\n': out += attribute ? "&#10;" : "\n"; break;
      case '\r': out += attribute ? "&#13;" : "\r"; break;
      case '\t': out += attribute ? "&#9;" : "\t"; break;
      default: out += c;
    }
  }
  return out;
}
}  // namespace

std::string xml_escape_text(const std::string& text) { return escape(text, false); }
std::string xml_escape_attribute(const std::string& text) { return escape(text, true); }

XmlWriter::XmlWriter(std::ostream& out) : out_(out) { out_ << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"; }

void XmlWriter::finish_start_tag() {
  if (in_start_tag_) {
    out_ << ">";
    in_start_tag_ = false;
  }
}

void XmlWriter::open(const std::string& name, const std::vector<std::pair<std::string, std::string>>& attributes) {
  finish_start_tag();
  if (!has_text_ && !open_.empty()) out_ << "\n" << std::string(open_.size() * 2, ' ');
  out_ << "<" << name;
  for (const auto& [key, value] : attributes) out_ << " " << key << "=\"" << xml_escape_attribute(value) << "\"";
  open_.push_back(name);
  in_start_tag_ = true;
  has_text_ = false;
}

void XmlWriter::text(const std::string& text) {
  if (open_.empty()) throw std::logic_error("XmlWriter::text: no element is open (text outside the root element)");
  if (text.empty()) return;
  finish_start_tag();
  out_ << xml_escape_text(text);
  has_text_ = true;
}

void XmlWriter::close() {
  if (open_.empty()) throw std::logic_error("XmlWriter::close: no element is open");
  const std::string name = open_.back();
  open_.pop_back();
  if (in_start_tag_) {
    out_ << "/>";
    in_start_tag_ = false;
  } else {
    if (!has_text_) out_ << "\n" << std::string(open_.size() * 2, ' ');
    out_ << "</" << name << ">";
  }
  has_text_ = false;
  if (open_.empty()) out_ << "\n";
}

void XmlWriter::leaf(const std::string& name, const std::vector<std::pair<std::string, std::string>>& attributes,
                     const std::string& text) {
  open(name, attributes);
  this->text(text);
  close();
}

}  // namespace ckpt
