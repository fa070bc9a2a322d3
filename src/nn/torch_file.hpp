// Reading `.pt` files: what Python's torch.save writes (PyTorch's zip format) and what cimkit
// writes. One reader for tensor files, state dicts and checkpoints, so every `.pt` a user hands
// cimkit gets the same checks and the same messages: the file is regular and not a directory,
// is a zip archive (a legacy, non-zip torch.save file is named as such), passes its CRC-32
// checks, and holds what the caller expects; LibTorch's own messages are shortened to their
// first line, without its stack trace.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace cimkit::nn {

// The bytes of a `.pt` file, after the checks above that need no unpickling. `what` names the
// expected content in messages ("tensor file", "state dict", "checkpoint"). DataError naming the
// file otherwise.
std::vector<char> read_pt_bytes(const std::string& path, const std::string& what);

// The object pickled in a torch.save file (a tensor, dict, list, ...), tensors on the CPU.
// Python's OrderedDict (state_dict()) is read as a dict. DataError naming the file when it is
// not readable as such, saying what was found (a pickled Python class, a TorchScript or
// torch::save archive, a legacy file) and what is expected.
c10::IValue read_torch_file(const std::string& path, const std::string& what);

// "a tensor", "a list", "a dict", "None", "a number (Int)", ...
std::string describe_ivalue(const c10::IValue& v);

// DataError naming the file and the tensor when a floating-point (or complex) `t` holds NaN or
// infinity: such a file cannot be used as weights, inputs or a checkpoint. An empty `name` is
// "the tensor" (a file holding one bare tensor).
void require_finite(const torch::Tensor& t, const std::string& path, const std::string& name);

// LibTorch's exception text without the stack trace ("Exception raised from ... frame #0 ..."),
// cut to its first line and `max_chars`.
std::string short_torch_message(const std::exception& e, size_t max_chars = 300);

}  // namespace cimkit::nn
