// PyTorch state_dict layout for safetensors weights files; the mapping is documented in
// ember/io/torch_layout.hpp.
#include "ember/io/torch_layout.hpp"

#include <set>

#include "ember/autograd/autograd.hpp"
#include "ember/core/error.hpp"

namespace ember::io {

namespace {

// One state_dict entry: which weight of the layer it comes from and how its layout differs.
struct Entry {
  std::string torch_name;  // "<layer>.weight"
  nn::Weight* weight;
  Axes to_torch;    // permutation Keras layout -> torch layout (empty: the same layout)
  Axes from_torch;  // its inverse
};

const Axes kDenseT{1, 0};
const Axes kHwioToOihw{3, 2, 0, 1};
const Axes kOihwToHwio{2, 3, 1, 0};

// The entries for every layer of `model`, in layer order. ValueError for a layer with weights
// that has no torch counterpart.
std::vector<Entry> torch_entries(nn::Model& model, std::vector<std::string>* batch_norms) {
  model.materialize_weights();
  std::vector<Entry> out;
  for (const nn::LayerPtr& layer : model.layers()) {
    if (layer->named_weights().empty()) continue;
    const std::string& name = layer->name();
    const std::string& cls = layer->class_name();
    if (name.find('.') != std::string::npos) {
      throw ValueError("torch layout: layer '" + name + "' has a '.' in its name, which a torch module name cannot hold");
    }
    auto add = [&](const char* keras, const char* torch, Axes to = {}, Axes from = {}) {
      if (nn::Weight* w = layer->find_weight(keras)) out.push_back({name + "." + torch, w, std::move(to), std::move(from)});
    };
    if (dynamic_cast<nn::Model*>(layer.get()) != nullptr) {
      throw ValueError("torch layout: layer '" + name + "' is a nested model; save the weights of a flat model");
    } else if (cls == "Dense") {
      if (layer->find_weight("kernel") == nullptr || layer->find_weight("kernel")->shape.size() != 2) {
        throw ValueError("torch layout: Dense layer '" + name + "' has no 2-D kernel");
      }
      add("kernel", "weight", kDenseT, kDenseT);
      add("bias", "bias");
    } else if (cls == "Conv2D") {
      if (layer->find_weight("kernel") == nullptr || layer->find_weight("kernel")->shape.size() != 4) {
        throw ValueError("torch layout: Conv2D layer '" + name + "' has no 4-D kernel");
      }
      add("kernel", "weight", kHwioToOihw, kOihwToHwio);
      add("bias", "bias");
    } else if (cls == "BatchNormalization") {
      add("gamma", "weight");
      add("beta", "bias");
      add("moving_mean", "running_mean");
      add("moving_variance", "running_var");
      if (batch_norms != nullptr) batch_norms->push_back(name);
    } else {
      throw ValueError("torch layout: layer '" + name + "' (" + cls +
                       ") has no PyTorch mapping (supported: Dense, Conv2D, BatchNormalization and layers without weights)");
    }
  }
  return out;
}

Tensor permuted(const Tensor& t, const Axes& axes) { return axes.empty() ? t : t.permute(axes).contiguous(); }

}  // namespace

TensorMap torch_state_dict(nn::Model& model) {
  std::vector<std::string> batch_norms;
  TensorMap out;
  for (const Entry& e : torch_entries(model, &batch_norms)) out[e.torch_name] = permuted(e.weight->value(), e.to_torch);
  // torch's BatchNorm buffers include the step counter; load_state_dict(strict=True) wants it.
  for (const std::string& bn : batch_norms) out[bn + ".num_batches_tracked"] = zeros(Shape{}, i64);
  return out;
}

void load_torch_state_dict(nn::Model& model, const TensorMap& tensors, const std::string& path) {
  std::vector<std::string> batch_norms;
  std::vector<Entry> entries = torch_entries(model, &batch_norms);
  std::set<std::string> expected;
  for (const std::string& bn : batch_norms) expected.insert(bn + ".num_batches_tracked");
  std::vector<Tensor> values;
  for (const Entry& e : entries) {
    expected.insert(e.torch_name);
    auto it = tensors.find(e.torch_name);
    if (it == tensors.end()) throw FormatError("'" + path + "': no tensor '" + e.torch_name + "' (torch layout) for the model's weight");
    Shape want = e.weight->shape;
    if (!e.to_torch.empty()) {
      Shape keras = want;
      for (std::size_t i = 0; i < e.to_torch.size(); ++i) want[i] = keras[static_cast<std::size_t>(e.to_torch[i])];
    }
    if (it->second.shape() != want) {
      throw FormatError("'" + path + "': tensor '" + e.torch_name + "' has shape " + to_string(it->second.shape()) +
                        ", the model expects " + to_string(want) + " (torch layout)");
    }
    if (!is_floating(it->second.dtype())) {
      throw FormatError("'" + path + "': tensor '" + e.torch_name + "' is " + std::string(dtype_name(it->second.dtype())) +
                        ", expected floating-point values");
    }
    values.push_back(permuted(it->second, e.from_torch));
  }
  for (const auto& [name, t] : tensors) {
    if (expected.count(name) == 0) {
      throw FormatError("'" + path + "': unexpected tensor '" + name + "': the model has no weight for it in the torch layout");
    }
  }
  autograd::NoGradGuard no_grad;
  for (std::size_t i = 0; i < entries.size(); ++i) entries[i].weight->value().copy_(values[i]);
}

void save_weights_torch(nn::Model& model, const std::string& path) {
  // safetensors.torch.save_file writes {"format": "pt"}.
  save_safetensors(path, torch_state_dict(model), {{"format", "pt"}});
}

void load_weights_torch(nn::Model& model, const std::string& path) {
  SafetensorsFile f = load_safetensors(path);
  load_torch_state_dict(model, f.tensors, path);
}

}  // namespace ember::io
