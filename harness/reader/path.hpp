#pragma once
// Where a value sits in a checkpoint, printed as PyTorch users write it: ['generator']['main.0.weight'].
#include <cstdint>
#include <string>
#include <vector>

namespace ckpt {

struct PathComponent {
  enum class Kind { kKey, kIntKey, kIndex, kOther };
  Kind kind;
  std::string key;        // kKey, kOther (a printable rendering of an unusual key)
  std::int64_t number{};  // kIntKey, kIndex
};

// Quotes text as Python's repr does for a str key: 'main.0.weight', 'it\'s', '\x00'.
std::string python_quote(const std::string& text);

class Path {
 public:
  Path() = default;
  Path child_key(std::string key) const;
  Path child_int_key(std::int64_t key) const;
  Path child_index(std::int64_t index) const;
  Path child_other(std::string rendering) const;

  const std::vector<PathComponent>& components() const { return components_; }
  bool empty() const { return components_.empty(); }
  std::string str() const;  // "" for the root, else ['a'][0]...

 private:
  std::vector<PathComponent> components_;
};

}  // namespace ckpt
