// LibTorch 1.13 cannot unpickle what Python's torch.save writes for a state_dict (an
// collections.OrderedDict, SETITEM/APPEND of one element). rewrite_pickle turns such a pickle
// into one it reads: see pickle_rewrite.cpp for the rules.
#pragma once
#include <cstddef>
#include <string>

namespace cimkit::nn {

// The protocol-2 pickle `data[0, size)` with every OrderedDict() call made a plain dict (its
// BUILD state dropped) and SETITEM / APPEND turned into their MARK ... SETITEMS / APPENDS forms.
// Throws std::runtime_error on a malformed pickle.
std::string rewrite_pickle(const char* data, size_t size);

}  // namespace cimkit::nn
