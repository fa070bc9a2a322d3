#include "nn/interop.hpp"

#include <caffe2/serialize/in_memory_adapter.h>
#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/csrc/jit/serialization/unpickler.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

#include "core/error.hpp"
#include "core/text.hpp"
#include "nn/quantizer.hpp"

namespace cimkit::nn {
namespace {

using Op = torch::jit::PickleOpCode;

// ---- OrderedDict rewrite -----------------------------------------------------------------------
//
// Python pickles an OrderedDict as  GLOBAL 'collections OrderedDict', EMPTY_TUPLE, REDUCE, then
// SETITEMS for its items and, when the object has attributes (state_dict()'s `_metadata`),
// `<state> BUILD`. LibTorch's unpickler maps that GLOBAL to "replace the call by None" (it only
// expects the empty backward-hooks OrderedDict inside a tensor's _rebuild_tensor_v2 arguments),
// so the SETITEMS that follow fail. We rewrite the pickle before unpickling it:
//   * every call OrderedDict() (the GLOBAL or a BINGET of its memo, EMPTY_TUPLE, REDUCE)
//     becomes EMPTY_DICT; the memo slot of the GLOBAL itself is left unset;
//   * `<state> BUILD` applied to such a dict is dropped together with the state's bytes (the
//     attributes, i.e. `_metadata`, carry module versions only). A later BINGET of a memo put
//     inside the dropped bytes would be an error (it does not happen in state dicts).
// LibTorch 1.13's unpickler also lacks SETITEM and APPEND, which Python uses for a dict or list
// of one element (a state dict with one tensor): `k v SETITEM` becomes `MARK k v SETITEMS` and
// `v APPEND` becomes `MARK v APPENDS`.
// To find where a BUILD's state or a SETITEM's key starts, the walk simulates the pickle
// machine's stack, keeping for each element only the output offset where it begins and what
// it is.

enum class Kind { Other, OdGlobal, OdArgs, OdDict };

struct Elem {
  size_t start;  // output offset of the first byte that produced this element
  Kind kind;
};

class PickleRewriter {
 public:
  explicit PickleRewriter(const char* data, size_t size) : in_(data), n_(size) {}

  std::string run() {
    while (true) {
      const size_t op_pos = pos_;
      const auto op = static_cast<Op>(byte());
      switch (op) {
        case Op::PROTO: {
          const uint8_t proto = byte();
          if (proto != 2) {
            fail(op_pos, fmt::format("pickle protocol {} (only 2, torch.save's default, is "
                                     "supported)",
                                     proto));
          }
          out_.push_back(static_cast<char>(op));
          out_.push_back(static_cast<char>(proto));
        } break;
        case Op::STOP:
          out_.push_back(static_cast<char>(op));
          return out_;
        case Op::MARK:
          marks_.push_back({stack_.size(), out_.size()});
          copy(op_pos, 0);
          break;
        case Op::BINPUT:
          put(op_pos, byte(), 1);
          break;
        case Op::LONG_BINPUT:
          put(op_pos, u32(), 4);
          break;
        case Op::BINGET:
          get(op_pos, byte(), 1);
          break;
        case Op::LONG_BINGET:
          get(op_pos, u32(), 4);
          break;
        case Op::GLOBAL:
          global(op_pos);
          break;
        case Op::EMPTY_TUPLE:
          if (!stack_.empty() && stack_.back().kind == Kind::OdGlobal) {
            stack_.push_back({out_.size(), Kind::OdArgs});
          } else {
            push_copy(op_pos, 0);
          }
          break;
        case Op::EMPTY_LIST:
        case Op::EMPTY_DICT:
        case Op::NONE:
        case Op::NEWTRUE:
        case Op::NEWFALSE:
          push_copy(op_pos, 0);
          break;
        case Op::BININT1:
          push_copy(op_pos, 1);
          break;
        case Op::BININT2:
          push_copy(op_pos, 2);
          break;
        case Op::BININT:
          push_copy(op_pos, 4);
          break;
        case Op::BINFLOAT:
          push_copy(op_pos, 8);
          break;
        case Op::LONG1:
          push_copy(op_pos, 1 + static_cast<uint8_t>(peek(0)));
          break;
        case Op::BINUNICODE:
          push_copy(op_pos, 4 + static_cast<size_t>(peek_u32()));
          break;
        case Op::TUPLE:
        case Op::LIST:
        case Op::DICT: {
          const Mark m = pop_mark(op_pos);
          copy(op_pos, 0);
          stack_.push_back({m.out, Kind::Other});
        } break;
        case Op::SETITEMS:
        case Op::APPENDS:
          pop_mark(op_pos);
          copy(op_pos, 0);
          break;
        case Op::TUPLE1:
          reduce_n(op_pos, 1);
          break;
        case Op::TUPLE2:
          reduce_n(op_pos, 2);
          break;
        case Op::TUPLE3:
          reduce_n(op_pos, 3);
          break;
        case Op::BINPERSID:
          reduce_n(op_pos, 1);
          break;
        case Op::NEWOBJ:
          reduce_n(op_pos, 2);
          break;
        case Op::SETITEM:
          with_mark(op_pos, 2, Op::SETITEMS);
          break;
        case Op::APPEND:
          with_mark(op_pos, 1, Op::APPENDS);
          break;
        case Op::REDUCE:
          reduce(op_pos);
          break;
        case Op::BUILD:
          build(op_pos);
          break;
        default:
          fail(op_pos,
               fmt::format("unsupported pickle opcode 0x{:02x}", static_cast<unsigned>(op) & 0xff));
      }
    }
  }

 private:
  struct Mark {
    size_t depth, out;
  };

  [[noreturn]] void fail(size_t op_pos, const std::string& what) const {
    throw std::runtime_error(fmt::format("{} at byte {} of data.pkl", what, op_pos));
  }
  void need(size_t k) const {
    if (pos_ + k > n_) fail(pos_, "truncated pickle");
  }
  uint8_t byte() {
    need(1);
    return static_cast<uint8_t>(in_[pos_++]);
  }
  char peek(size_t off) const {
    need(off + 1);
    return in_[pos_ + off];
  }
  uint32_t peek_u32() const {
    need(4);
    uint32_t v;
    std::memcpy(&v, in_ + pos_, 4);  // little-endian, as the pickle format and x86/ARM
    return v;
  }
  uint32_t u32() {
    const uint32_t v = peek_u32();
    pos_ += 4;
    return v;
  }
  std::string line() {
    const char* end = static_cast<const char*>(std::memchr(in_ + pos_, '\n', n_ - pos_));
    if (!end) fail(pos_, "truncated GLOBAL");
    std::string s(in_ + pos_, end);
    pos_ = static_cast<size_t>(end - in_) + 1;
    return s;
  }
  // Copies the opcode at `op_pos` and its `arg_bytes` argument bytes (consumed here).
  void copy(size_t op_pos, size_t arg_bytes) {
    need(arg_bytes);
    pos_ += arg_bytes;
    out_.append(in_ + op_pos, pos_ - op_pos);
  }
  void push_copy(size_t op_pos, size_t arg_bytes) {
    const size_t start = out_.size();
    copy(op_pos, arg_bytes);
    stack_.push_back({start, Kind::Other});
  }
  void check_plain(size_t op_pos, const Elem& e) const {
    if (e.kind == Kind::OdGlobal || e.kind == Kind::OdArgs) {
      fail(op_pos, "collections.OrderedDict used other than as OrderedDict()");
    }
  }
  Elem pop_plain(size_t op_pos, size_t k) {
    if (stack_.size() < k) fail(op_pos, "stack underflow");
    Elem first = stack_[stack_.size() - k];
    for (size_t i = stack_.size() - k; i < stack_.size(); ++i) check_plain(op_pos, stack_[i]);
    stack_.resize(stack_.size() - k);
    return first;
  }
  Mark pop_mark(size_t op_pos) {
    if (marks_.empty() || marks_.back().depth > stack_.size()) fail(op_pos, "MARK missing");
    const Mark m = marks_.back();
    marks_.pop_back();
    for (size_t i = m.depth; i < stack_.size(); ++i) check_plain(op_pos, stack_[i]);
    stack_.resize(m.depth);
    return m;
  }
  void reduce_n(size_t op_pos, size_t k) {
    const Elem first = pop_plain(op_pos, k);
    copy(op_pos, 0);
    stack_.push_back({first.start, Kind::Other});
  }
  // The last k stack elements become the items of a MARK ... `op` (SETITEMS / APPENDS).
  void with_mark(size_t op_pos, size_t k, Op op) {
    const size_t at_out = pop_plain(op_pos, k).start;
    out_.insert(out_.begin() + static_cast<std::ptrdiff_t>(at_out), static_cast<char>(Op::MARK));
    for (auto& [id, where] : memo_out_) {
      if (where >= at_out) ++where;
    }
    out_.push_back(static_cast<char>(op));
  }
  void global(size_t op_pos) {
    const std::string module = line(), name = line();
    if (module == "collections" && name == "OrderedDict") {
      stack_.push_back({out_.size(), Kind::OdGlobal});
      return;
    }
    out_.append(in_ + op_pos, pos_ - op_pos);
    stack_.push_back({out_.size() - (pos_ - op_pos), Kind::Other});
  }
  void put(size_t op_pos, uint32_t id, size_t arg_bytes) {
    if (stack_.empty()) fail(op_pos, "PUT on an empty stack");
    if (stack_.back().kind == Kind::OdGlobal) {  // the OrderedDict class itself: not emitted
      od_memo_.insert(id);
      return;
    }
    check_plain(op_pos, stack_.back());
    od_memo_.erase(id);
    dropped_.erase(id);
    memo_out_[id] = out_.size();
    pos_ = op_pos + 1;
    copy(op_pos, arg_bytes);
  }
  void get(size_t op_pos, uint32_t id, size_t arg_bytes) {
    if (od_memo_.count(id)) {
      stack_.push_back({out_.size(), Kind::OdGlobal});
      return;
    }
    if (dropped_.count(id)) fail(op_pos, "reference to an OrderedDict attribute");
    pos_ = op_pos + 1;
    push_copy(op_pos, arg_bytes);
  }
  void reduce(size_t op_pos) {
    if (stack_.size() < 2) fail(op_pos, "stack underflow");
    const Elem args = stack_.back(), fn = stack_[stack_.size() - 2];
    if (fn.kind == Kind::OdGlobal && args.kind == Kind::OdArgs) {
      stack_.resize(stack_.size() - 2);
      stack_.push_back({out_.size(), Kind::OdDict});
      out_.push_back(static_cast<char>(Op::EMPTY_DICT));
      return;
    }
    reduce_n(op_pos, 2);
  }
  void build(size_t op_pos) {
    if (stack_.size() >= 2 && stack_[stack_.size() - 2].kind == Kind::OdDict) {
      const Elem state = stack_.back();
      check_plain(op_pos, state);
      stack_.pop_back();
      for (auto it = memo_out_.begin(); it != memo_out_.end();) {
        if (it->second >= state.start) {
          dropped_.insert(it->first);
          it = memo_out_.erase(it);
        } else {
          ++it;
        }
      }
      out_.resize(state.start);
      return;
    }
    reduce_n(op_pos, 2);
  }

  const char* in_;
  size_t n_, pos_ = 0;
  std::string out_;
  std::vector<Elem> stack_;
  std::vector<Mark> marks_;
  std::set<uint32_t> od_memo_, dropped_;
  std::map<uint32_t, size_t> memo_out_;  // memo id -> output offset of its PUT
};

// ---- files -------------------------------------------------------------------------------------

std::string describe(const c10::IValue& v) {
  if (v.isTensor()) return "a tensor";
  if (v.isList()) return "a list";
  if (v.isTuple()) return "a tuple";
  if (v.isNone()) return "None";
  if (v.isString()) return "a string";
  if (v.isInt() || v.isDouble() || v.isBool()) return "a number (" + v.tagKind() + ")";
  if (v.isGenericDict()) return "a dict";
  return "a " + v.tagKind();
}

std::string shape_text(torch::IntArrayRef s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

void collect(torch::nn::Module& m, const std::string& prefix,
             std::vector<std::pair<std::string, torch::Tensor>>& out) {
  for (const auto& p : m.named_parameters(/*recurse=*/false)) {
    if (p.value().defined()) out.emplace_back(prefix + p.key(), p.value());
  }
  for (const auto& b : m.named_buffers(/*recurse=*/false)) {
    if (b.value().defined()) out.emplace_back(prefix + b.key(), b.value());
  }
  for (const auto& c : m.named_children()) collect(*c.value(), prefix + c.key() + ".", out);
}

void collect_quantizers(torch::nn::Module& m, const std::string& prefix,
                        std::vector<std::pair<std::string, QuantizerImpl*>>& out) {
  if (auto* q = dynamic_cast<QuantizerImpl*>(&m)) out.emplace_back(prefix, q);
  for (const auto& c : m.named_children()) {
    collect_quantizers(*c.value(), prefix.empty() ? c.key() : prefix + "." + c.key(), out);
  }
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// `<layer>.wq.step` etc., or `wq.step` for a bare analog layer.
bool is_quantizer_key(const std::string& key) {
  for (const char* tail :
       {".wq.step", ".xq.step", ".xq.offset", ".wq.initialized", ".xq.initialized"}) {
    if (ends_with("." + key, tail)) return true;
  }
  return false;
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> state_dict(torch::nn::Module& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  collect(m, "", out);
  for (auto& kv : out) kv.second = kv.second.detach();
  return out;
}

void save_state_dict(torch::nn::Module& m, const std::string& path) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, t] : state_dict(m)) dict.insert(name, t.cpu().contiguous());
  const std::vector<char> bytes = torch::jit::pickle_save(dict);
  const std::string tmp = fmt::format("{}.tmp.{}", path, static_cast<long>(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw DataError(path, "cannot write the state dict (is the directory writable?)");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      throw DataError(path, "writing the state dict failed (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw DataError(path, "cannot replace the file with the new state dict");
  }
}

std::vector<std::pair<std::string, torch::Tensor>> read_state_dict_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, "cannot read state dict file (does it exist and is it readable?)");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x80 && bytes[1] == 0x02) {
    throw DataError(path,
                    "a legacy (pre-1.6, non-zip) torch.save file; re-save it with a current "
                    "torch.save (zip format, the default)");
  }
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "PK\x03\x04", 4) != 0) {
    throw DataError(path, "not a file written by torch.save (no zip archive)");
  }
  c10::IValue v;
  try {
    caffe2::serialize::PyTorchStreamReader reader(
        std::make_shared<caffe2::serialize::MemoryReadAdapter>(bytes.data(), bytes.size()));
    if (!reader.hasRecord("data.pkl")) {
      throw DataError(path, "zip archive without data.pkl: not written by torch.save");
    }
    auto [pkl, pkl_size] = reader.getRecord("data.pkl");
    const std::string pickle = PickleRewriter(static_cast<const char*>(pkl.get()), pkl_size).run();
    size_t offset = 0;
    auto read = [&](char* buf, size_t n) {
      const size_t k = std::min(n, pickle.size() - offset);
      std::memcpy(buf, pickle.data() + offset, k);
      offset += k;
      return k;
    };
    auto read_record = [&](const std::string& name) {
      return std::get<0>(reader.getRecord("data/" + name));
    };
    torch::jit::Unpickler unpickler(read, nullptr, nullptr, read_record, c10::Device(c10::kCPU));
    unpickler.set_version(reader.version());
    v = unpickler.parse_ivalue();
  } catch (const DataError&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    if (what.find("_rebuild_parameter") != std::string::npos) {
      what += "; save tensors (model.state_dict()), not nn.Parameter objects";
    }
    throw DataError(path, "cannot read the torch.save archive (" + what.substr(0, 300) + ")");
  }
  if (!v.isGenericDict()) {
    throw DataError(path,
                    "holds " + describe(v) + ", expected a dict {name: tensor} (a state_dict)");
  }
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& kv : v.toGenericDict()) {
    if (!kv.key().isString()) {
      throw DataError(path, "has a key that is " + describe(kv.key()) + ", expected strings");
    }
    const std::string& name = kv.key().toStringRef();
    if (!kv.value().isTensor()) {
      throw DataError(path, "'" + name + "' holds " + describe(kv.value()) + ", expected a tensor");
    }
    out.emplace_back(name, kv.value().toTensor());
  }
  return out;
}

std::string ImportReport::summary() const {
  std::string s = fmt::format("loaded {} tensors", loaded.size());
  if (!missing.empty()) s += fmt::format("; missing {}: {}", missing.size(), join(missing));
  if (!unexpected.empty())
    s += fmt::format("; unexpected {}: {}", unexpected.size(), join(unexpected));
  if (!reinitialized.empty()) {
    s += fmt::format("; {} quantisers re-initialise from data: {}", reinitialized.size(),
                     join(reinitialized));
  }
  return s;
}

ImportReport load_state_dict(torch::nn::Module& m, const std::string& path,
                             const ImportOptions& opt) {
  const auto file = read_state_dict_file(path);
  std::map<std::string, torch::Tensor> found(file.begin(), file.end());
  std::vector<std::pair<std::string, torch::Tensor>> own;
  collect(m, "", own);

  ImportReport report;
  std::vector<std::string> missing_hard, mismatches;
  std::set<std::string> own_names;
  for (const auto& [name, t] : own) {
    own_names.insert(name);
    const auto it = found.find(name);
    if (it == found.end()) {
      if (opt.allow_missing_quantizers && is_quantizer_key(name)) {
        report.missing.push_back(name);
      } else {
        missing_hard.push_back(name);
      }
    } else if (it->second.sizes() != t.sizes()) {
      mismatches.push_back(fmt::format("{}: expected {}, found {}", name, shape_text(t.sizes()),
                                       shape_text(it->second.sizes())));
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, t] : file) {
    if (!own_names.count(name)) unexpected.push_back(name);
  }
  const bool bad_keys = opt.strict && (!missing_hard.empty() || !unexpected.empty());
  if (bad_keys || !mismatches.empty()) {
    std::string msg = "does not match the module";
    if (opt.strict && !missing_hard.empty()) {
      msg += fmt::format("\n  {} missing keys (in the module, not in the file): {}",
                         missing_hard.size(), join(missing_hard));
    }
    if (opt.strict && !unexpected.empty()) {
      msg += fmt::format("\n  {} unexpected keys (in the file, not in the module): {}",
                         unexpected.size(), join(unexpected));
    }
    if (!mismatches.empty()) {
      msg += fmt::format("\n  {} shape mismatches: {}", mismatches.size(), join(mismatches, "; "));
    }
    throw DataError(path, msg);
  }
  report.missing.insert(report.missing.end(), missing_hard.begin(), missing_hard.end());
  report.unexpected = unexpected;

  {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : own) {
      const auto it = found.find(name);
      if (it == found.end()) continue;
      t.copy_(it->second);  // converts dtype and device; keeps the tensor (optimizers stay valid)
      report.loaded.push_back(name);
    }
  }

  // Quantisers: a loaded step is in force (mark it initialised when the file has no flag); a
  // missing learned step or offset is initialised from the next batch.
  std::vector<std::pair<std::string, QuantizerImpl*>> quantizers;
  collect_quantizers(m, "", quantizers);
  for (const auto& [qpath, q] : quantizers) {
    if (!q->step.defined()) continue;
    const std::string pre = qpath.empty() ? "" : qpath + ".";
    const bool has_step = found.count(pre + "step") > 0;
    const bool has_offset = !q->offset.defined() || found.count(pre + "offset") > 0;
    if (has_step && has_offset) {
      if (!found.count(pre + "initialized")) q->initialized_.fill_(true);
    } else {
      q->request_init();
      report.reinitialized.push_back(qpath);
    }
  }
  return report;
}

}  // namespace cimkit::nn
