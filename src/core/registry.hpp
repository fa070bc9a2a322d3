// Registry of named implementations. Each concept (device model, DAC, ADC, ...) is one small
// interface; each implementation is one .cpp file that registers itself by name with
// CIMKIT_REGISTER, together with its parameter schema. A config picks one with `impl: name`;
// `cimkit list <interface>` and `cimkit describe <interface>.<impl>` read the registry.
//
// The registrars are static objects, so implementation files are built into OBJECT libraries
// (see cmake/modules.cmake); each layer's tests check that its built-in names are registered.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/params.hpp"

namespace cimkit {

struct ImplInfo {
  std::string name;
  std::string description;
  Schema schema;
};

class RegistryBase {
 public:
  RegistryBase(std::string interface_name, std::string description);
  virtual ~RegistryBase() = default;
  const std::string& interface_name() const { return interface_; }
  const std::string& description() const { return description_; }
  const std::vector<ImplInfo>& impls() const { return infos_; }
  const ImplInfo* find(const std::string& name) const;
  std::vector<std::string> names() const;
  // Resolves `impl:` of a section (default when absent); ConfigError for unknown names.
  const ImplInfo& resolve(const ConfigNode& section, const std::string& path,
                          const std::string& default_impl) const;

 protected:
  void add_info(ImplInfo info);

 private:
  std::string interface_, description_;
  std::vector<ImplInfo> infos_;
};

// Every registry, in registration order of their interfaces.
std::vector<RegistryBase*>& all_registries();
RegistryBase* find_registry(const std::string& interface_name);

// An object built from a config section, with the validated parameters it was built from.
template <class I>
struct Built {
  std::shared_ptr<I> object;
  std::string impl;
  Params params;
  // Resolved section: `impl` plus every parameter with defaults filled in.
  ConfigNode resolved() const {
    ConfigNode n = ConfigNode::map();
    n.set("impl", ConfigNode::scalar(impl));
    const ConfigNode values = params.to_node();  // keep alive: items() refers into it
    for (const auto& [k, v] : values.items()) n.set(k, v);
    return n;
  }
};

// Interface I must declare `static constexpr const char* kInterface`, `kDescription` and
// `kDefaultImpl`.
template <class I>
class Registry : public RegistryBase {
 public:
  using Factory = std::function<std::shared_ptr<I>(const Params&)>;

  static Registry& instance() {
    static Registry* r = new Registry();  // never destroyed: registrars may run late
    return *r;
  }

  bool add(const std::string& name, const std::string& description,
           const std::function<Schema()>& schema, Factory factory) {
    Schema s = schema();
    add_info({name, description, s});
    factories_.emplace_back(name, std::move(factory));
    return true;
  }

  // Builds the implementation named by `section.impl` from `section` at `path`.
  Built<I> create(const ConfigNode& section, const std::string& path) const {
    const ImplInfo& info = resolve(section, path, I::kDefaultImpl);
    // `sources` lists where a preset's numbers come from; it is documentation, not a parameter.
    Params params = parse_params(section, info.schema, path, {"impl", "sources"});
    for (const auto& [n, f] : factories_) {
      if (n == info.name) return Built<I>{f(params), info.name, params};
    }
    throw Error("internal: no factory for " + path + " impl " + info.name);
  }

  // Builds with all defaults.
  Built<I> create_default(const std::string& impl, const std::string& path) const {
    ConfigNode n = ConfigNode::map();
    n.set("impl", ConfigNode::scalar(impl));
    return create(n, path);
  }

 private:
  Registry() : RegistryBase(I::kInterface, I::kDescription) {}
  std::vector<std::pair<std::string, Factory>> factories_;
};

}  // namespace cimkit

#define CIMKIT_CONCAT_INNER(a, b) a##b
#define CIMKIT_CONCAT(a, b) CIMKIT_CONCAT_INNER(a, b)

// CIMKIT_REGISTER(Interface, Impl, "name", "one-line description"): Impl must have a
// constructor Impl(const cimkit::Params&) and `static cimkit::Schema schema()`.
#define CIMKIT_REGISTER(Interface, Impl, NAME, DESCRIPTION)                                     \
  namespace {                                                                                   \
  const bool CIMKIT_CONCAT(cimkit_registered_, __LINE__) =                                      \
      ::cimkit::Registry<Interface>::instance().add(                                            \
          NAME, DESCRIPTION, &Impl::schema,                                                     \
          [](const ::cimkit::Params& p) { return std::shared_ptr<Interface>(new Impl(p)); });   \
  }
