#pragma once
// Where a value sits in a checkpoint, printed as PyTorch users write it: ['generator']['main.0.weight'].
#include <cstdint>
#include <functional>
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

  // What str() writes for a path of `n` components, asking only for those it shows (a deep
  // path keeps its ends; a long key its start), so that a walker can name a place without
  // holding the whole path.
  static std::string render(std::size_t n, const std::function<PathComponent(std::size_t)>& component_at);

 private:
  std::vector<PathComponent> components_;
};

}  // namespace ckpt
