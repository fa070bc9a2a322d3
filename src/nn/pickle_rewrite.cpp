#include "nn/pickle_rewrite.hpp"

#include <fmt/format.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <vector>

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

}  // namespace

std::string rewrite_pickle(const char* data, size_t size) { return PickleRewriter(data, size).run(); }

}  // namespace cimkit::nn
