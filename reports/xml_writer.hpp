#pragma once
// A small streaming XML writer: elements close in order (RAII), attribute values and text
// are escaped separately, and everything passes through sanitize_text first.
#include <ostream>
#include <string>
#include <vector>

namespace ckpt {

class XmlWriter {
 public:
  explicit XmlWriter(std::ostream& out);
  void open(const std::string& name, const std::vector<std::pair<std::string, std::string>>& attributes = {});
  // Inside the element last opened; with none open, std::logic_error (a reporter's bug).
  void text(const std::string& text);
  void close();  // the element last opened; with none, std::logic_error
  void leaf(const std::string& name, const std::vector<std::pair<std::string, std::string>>& attributes,
            const std::string& text = "");

  // Closes its element when it goes out of scope.
  class Scope {
   public:
    Scope(XmlWriter& w, const std::string& name, const std::vector<std::pair<std::string, std::string>>& attributes = {})
        : w_(w) {
      w_.open(name, attributes);
    }
    ~Scope() { w_.close(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    XmlWriter& w_;
  };

 private:
  void finish_start_tag();
  std::ostream& out_;
  std::vector<std::string> open_;
  bool in_start_tag_ = false;
  bool has_text_ = false;
};

std::string xml_escape_text(const std::string& text);
std::string xml_escape_attribute(const std::string& text);

}  // namespace ckpt
