#pragma once
// Spectral norm and weight norm have two key forms in PyTorch: the old hooks
// (torch.nn.utils.spectral_norm: weight_orig, weight_u, weight_v; torch.nn.utils.weight_norm:
// weight_g, weight_v) and the parametrizations that replaced them
// (torch.nn.utils.parametrizations.*: parametrizations.weight.original, ...0._u, ...0._v;
// original0, original1). A model moved from one to the other no longer loads its checkpoints,
// and load_state_dict says only "missing" and "unexpected". This recognises the layers that
// changed form, in either direction and to or from plain weights, and says what happened and
// how to load them: key rules where the tensors are the same under new names, and what to do
// where the values differ (a plain weight is weight_orig / sigma, or g * v / |v|).
#include <string>
#include <vector>

namespace ckpt {

// "" when no layer changed form; else one line per kind of change (layers named).
std::string explain_norm_migrations(const std::vector<std::string>& missing, const std::vector<std::string>& unexpected);

}  // namespace ckpt
