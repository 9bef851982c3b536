#include "reader/path.hpp"

namespace ckpt {

std::string python_quote(const std::string& key) {
  std::string out = "'";
  for (unsigned char c : key) {
    if (c == '\'' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

Path Path::child_key(std::string key) const {
  Path p = *this;
  p.components_.push_back({PathComponent::Kind::kKey, std::move(key), 0});
  return p;
}
Path Path::child_int_key(std::int64_t key) const {
  Path p = *this;
  p.components_.push_back({PathComponent::Kind::kIntKey, {}, key});
  return p;
}
Path Path::child_index(std::int64_t index) const {
  Path p = *this;
  p.components_.push_back({PathComponent::Kind::kIndex, {}, index});
  return p;
}
Path Path::child_other(std::string rendering) const {
  Path p = *this;
  p.components_.push_back({PathComponent::Kind::kOther, std::move(rendering), 0});
  return p;
}

std::string Path::str() const {
  return render(components_.size(), [this](std::size_t i) { return components_[i]; });
}

std::string Path::render(std::size_t n, const std::function<PathComponent(std::size_t)>& component_at) {
  // A path deeper than any real checkpoint's (a hostile nesting) keeps its ends, so that a
  // message stays readable: ['a'][0][0][0][0][0][...990 more levels...][0][0][0][0][0].
  constexpr std::size_t kShownAtEachEnd = 6;
  // A key longer than any real one keeps its start: paths stay small whatever the keys hold.
  constexpr std::size_t kShownKeyBytes = 200;
  const bool abbreviated = n > 4 * kShownAtEachEnd;
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (abbreviated && i == kShownAtEachEnd) {
      out += "[..." + std::to_string(n - 2 * kShownAtEachEnd) + " more levels...]";
      i = n - kShownAtEachEnd - 1;
      continue;
    }
    const PathComponent c = component_at(i);
    out += '[';
    switch (c.kind) {
      case PathComponent::Kind::kKey:
        if (c.key.size() > kShownKeyBytes + 40) {
          std::size_t cut = kShownKeyBytes;
          while (cut > 0 && (static_cast<unsigned char>(c.key[cut]) & 0xc0) == 0x80) --cut;  // not inside a character
          out += python_quote(c.key.substr(0, cut)) + "...(" + std::to_string(c.key.size()) + " bytes)";
        } else {
          out += python_quote(c.key);
        }
        break;
      case PathComponent::Kind::kIntKey:
      case PathComponent::Kind::kIndex: out += std::to_string(c.number); break;
      case PathComponent::Kind::kOther: break;
    }
    if (c.kind == PathComponent::Kind::kOther) {
      out.pop_back();  // other components carry their own punctuation: .attr, <args>
      out += c.key.size() > kShownKeyBytes + 40 ? c.key.substr(0, kShownKeyBytes) + "..." : c.key;
    } else {
      out += ']';
    }
  }
  return out;
}

}  // namespace ckpt
