#include "engine/norm_migrations.hpp"
#include "text/counted.hpp"

#include <map>
#include <set>

namespace ckpt {

namespace {
enum class NormForm { kPlain, kOldSpectral, kNewSpectral, kOldWeightNorm, kNewWeightNorm };

struct FormInfo {
  NormForm form;
  std::vector<std::string> suffixes;  // the keys a layer of this form has, after "<layer>."
  const char* name;
};

// Most specific first: old spectral norm and old weight norm share `weight_v`.
const std::vector<FormInfo>& forms() {
  static const std::vector<FormInfo> kForms = {
      {NormForm::kNewSpectral,
       {"parametrizations.weight.original", "parametrizations.weight.0._u", "parametrizations.weight.0._v"},
       "torch.nn.utils.parametrizations.spectral_norm (parametrizations.weight.original, parametrizations.weight.0._u, "
       "parametrizations.weight.0._v)"},
      {NormForm::kNewWeightNorm,
       {"parametrizations.weight.original0", "parametrizations.weight.original1"},
       "torch.nn.utils.parametrizations.weight_norm (parametrizations.weight.original0, parametrizations.weight.original1)"},
      {NormForm::kOldSpectral, {"weight_orig", "weight_u", "weight_v"},
       "torch.nn.utils.spectral_norm (weight_orig, weight_u, weight_v)"},
      {NormForm::kOldWeightNorm, {"weight_g", "weight_v"}, "torch.nn.utils.weight_norm (weight_g, weight_v)"},
      {NormForm::kPlain, {"weight"}, "a plain weight"},
  };
  return kForms;
}

const FormInfo& info(NormForm form) {
  for (const auto& f : forms()) {
    if (f.form == form) return f;
  }
  return forms().back();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         s[s.size() - suffix.size() - 1] == '.';
}

// Layer prefix -> the form whose every key is in `keys` (the first such form, see forms()).
std::map<std::string, NormForm> layers_by_form(const std::vector<std::string>& keys) {
  const std::set<std::string> present(keys.begin(), keys.end());
  std::map<std::string, NormForm> out;
  for (const auto& key : keys) {
    for (const auto& f : forms()) {
      const std::string& first = f.suffixes.front();
      if (!ends_with(key, first)) continue;
      const std::string layer = key.substr(0, key.size() - first.size() - 1);
      bool complete = true;
      for (const auto& suffix : f.suffixes) complete = complete && present.count(layer + "." + suffix) > 0;
      if (complete && out.count(layer) == 0) out[layer] = f.form;
      break;
    }
  }
  return out;
}

std::string escape_dots(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '.') out += '\\';
    out += c;
  }
  return out;
}

// Key rules renaming one form's keys to another's, suffix by suffix (same tensors).
std::string rename_rules(NormForm from, NormForm to) {
  const auto& a = info(from).suffixes;
  const auto& b = info(to).suffixes;
  std::string rules;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    rules += std::string(rules.empty() ? "" : ", ") + "{ pattern = '\\." + escape_dots(a[i]) + "$', replace = '." + b[i] + "' }";
  }
  return rules;
}

bool spectral(NormForm f) { return f == NormForm::kOldSpectral || f == NormForm::kNewSpectral; }
bool weight_norm(NormForm f) { return f == NormForm::kOldWeightNorm || f == NormForm::kNewWeightNorm; }

std::string what_to_do(NormForm checkpoint, NormForm model) {
  if ((spectral(checkpoint) && spectral(model)) || (weight_norm(checkpoint) && weight_norm(model))) {
    return "the same tensors under other names: add the key rules " + rename_rules(checkpoint, model);
  }
  if (model == NormForm::kPlain) {
    return std::string("no key rule makes the plain weight, which is ") +
           (spectral(checkpoint) ? "weight_orig / sigma (sigma from u and v)" : "g * v / |v|") +
           ": save the checkpoint after removing the norm in Python (" +
           (checkpoint == NormForm::kOldSpectral   ? "torch.nn.utils.remove_spectral_norm"
            : checkpoint == NormForm::kOldWeightNorm ? "torch.nn.utils.remove_weight_norm"
                                                     : "torch.nn.utils.parametrize.remove_parametrizations") +
           "), or keep the norm in the model";
  }
  if (checkpoint == NormForm::kPlain) {
    return std::string("the checkpoint's weights predate the norm: load them into the model without it, then apply ") +
           (spectral(model) ? "spectral norm (it starts from weight_orig = weight and fresh u, v)"
                            : "weight norm (it computes g and v from the weight)");
  }
  return "spectral norm and weight norm are different layers: the checkpoint was saved by another architecture";
}
}  // namespace

std::string explain_norm_migrations(const std::vector<std::string>& missing, const std::vector<std::string>& unexpected) {
  const auto in_checkpoint = layers_by_form(unexpected);
  const auto in_model = layers_by_form(missing);
  std::map<std::pair<NormForm, NormForm>, std::vector<std::string>> changes;  // (checkpoint, model) -> layers
  for (const auto& [layer, form] : in_checkpoint) {
    const auto model = in_model.find(layer);
    if (model == in_model.end() || model->second == form) continue;
    if (form == NormForm::kPlain && model->second == NormForm::kPlain) continue;
    changes[{form, model->second}].push_back(layer);
  }
  std::string out;
  for (const auto& [forms_pair, layers] : changes) {
    std::string names = comma_list(layers, [](const std::string& layer) { return layer; }, 4);
    if (layers.size() > 4) names += " (" + std::to_string(layers.size()) + " layers)";
    out += std::string(out.empty() ? "" : "\n") + names + ": the checkpoint has " + info(forms_pair.first).name +
           ", the model " + info(forms_pair.second).name + "; " + what_to_do(forms_pair.first, forms_pair.second);
  }
  return out;
}

}  // namespace ckpt
