// PyTorch state_dict interop: a module's parameters and buffers to and from the file Python's
// `torch.save(model.state_dict(), path)` writes and `torch.load(path)` reads.
//
// File format: PyTorch's zip archive with a protocol-2 pickle (`<archive>/data.pkl`) holding a
// dict {name: tensor} and one record per storage (`<archive>/data/<key>`). LibTorch's
// torch::pickle_load reads plain dicts but not the collections.OrderedDict that
// Module.state_dict() returns (its unpickler turns every OrderedDict into None, then fails on
// the first SETITEMS); load_state_dict therefore reads the archive itself and rewrites those
// OrderedDicts into plain dicts before unpickling (interop.cpp).
//
// Names are module paths as in PyTorch (`layer1.0.conv1.weight`); zoo models are built so that a
// Python model of the same structure has the same keys (docs/models.md).
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace cimkit::nn {

// Every parameter and buffer of `m` (detached; device and dtype as they are), in PyTorch's
// state_dict order: module by module in registration order, parameters then buffers of each.
std::vector<std::pair<std::string, torch::Tensor>> state_dict(torch::nn::Module& m);

// Writes state_dict(m) as a dict {name: tensor} (CPU, contiguous) that Python's torch.load reads
// and model.load_state_dict accepts. Atomic (write_file_atomic: temporary file, fsync, rename).
// DataError naming the path when it cannot be written.
void save_state_dict(torch::nn::Module& m, const std::string& path);

// Reads a file written by Python's torch.save (a dict or OrderedDict of tensors, e.g.
// model.state_dict()) or by save_state_dict, as tensors on the CPU keyed by name (file order).
// DataError naming the file when it is missing, not a torch zip archive (or fails its checksums),
// not a dict, or holds a non-string key, a non-tensor value or a tensor with NaN or infinity.
std::vector<std::pair<std::string, torch::Tensor>> read_state_dict_file(const std::string& path);

struct ImportOptions {
  // Every key of the module must be in the file and every key of the file in the module.
  // When false, missing and unexpected keys are reported in the ImportReport instead.
  // Shape mismatches are errors either way (as in PyTorch).
  bool strict = true;
  // Quantiser keys (ending in .wq.step, .xq.step, .xq.offset, .wq.initialized,
  // .xq.initialized) may be missing even when strict: a float PyTorch model has no quantisers.
  // Quantisers whose step (or offset) is missing re-initialise from the next batch they see.
  bool allow_missing_quantizers = true;
};

struct ImportReport {
  std::vector<std::string> loaded;         // module keys copied from the file
  std::vector<std::string> missing;        // module keys not in the file (allowed quantiser keys,
                                           // or any key when !strict)
  std::vector<std::string> unexpected;     // file keys the module does not have (only when !strict)
  std::vector<std::string> reinitialized;  // quantisers (module paths) set to re-initialise
  std::string summary() const;             // "loaded 12 tensors; missing 0; unexpected 0; ..."
};

// Loads `path` into `m`: names and shapes must match (DataError naming the file and listing
// every missing key, unexpected key and shape mismatch with expected and found shapes). Values
// are converted to each parameter's dtype and device and copied in place (copy_ under
// NoGradGuard), so tensor identities (and optimizers holding them) stay valid. A quantiser whose
// step is loaded but whose `initialized` flag is not in the file is marked initialised, so the
// loaded step is used rather than overwritten by lazy initialisation.
ImportReport load_state_dict(torch::nn::Module& m, const std::string& path,
                             const ImportOptions& options = {});

}  // namespace cimkit::nn
