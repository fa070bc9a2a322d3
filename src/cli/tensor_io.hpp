// Tensors in PyTorch's file format: read what Python's torch.save wrote, write what Python's
// torch.load reads (torch::pickle_load / torch::pickle_save).
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

namespace cimkit {

// A tensor from `path`: a saved tensor, or a dict holding exactly one tensor (or `key`).
torch::Tensor load_tensor_file(const std::string& path, const std::string& key = "");

// Writes a tensor, atomically.
void save_tensor_file(const std::string& path, const torch::Tensor& t);
// Writes a dict of named tensors, atomically.
void save_tensor_dict(const std::string& path, const std::map<std::string, torch::Tensor>& dict);

}  // namespace cimkit
