#include "core/registry.hpp"

#include "core/text.hpp"

namespace cimkit {

std::vector<RegistryBase*>& all_registries() {
  static auto* list = new std::vector<RegistryBase*>();
  return *list;
}

RegistryBase* find_registry(const std::string& interface_name) {
  for (auto* r : all_registries())
    if (r->interface_name() == interface_name) return r;
  return nullptr;
}

RegistryBase::RegistryBase(std::string interface_name, std::string description)
    : interface_(std::move(interface_name)), description_(std::move(description)) {
  all_registries().push_back(this);
}

void RegistryBase::add_info(ImplInfo info) {
  for (const auto& i : infos_) {
    if (i.name == info.name) {
      throw Error("internal: " + interface_ + " implementation '" + info.name +
                  "' registered twice");
    }
  }
  infos_.push_back(std::move(info));
}

const ImplInfo* RegistryBase::find(const std::string& name) const {
  for (const auto& i : infos_)
    if (i.name == name) return &i;
  return nullptr;
}

std::vector<std::string> RegistryBase::names() const {
  std::vector<std::string> out;
  for (const auto& i : infos_) out.push_back(i.name);
  return out;
}

const ImplInfo& RegistryBase::resolve(const ConfigNode& section, const std::string& path,
                                      const std::string& default_impl) const {
  if (!section.is_null() && !section.is_map()) {
    throw ConfigError(section.loc(), path,
                      std::string("expected a map of keys, found a ") + section.kind_name());
  }
  std::string name = default_impl;
  SourceLoc loc = section.loc();
  if (const ConfigNode* impl = section.is_map() ? section.find("impl") : nullptr) {
    if (!impl->is_scalar()) {
      throw ConfigError(impl->loc(), path + ".impl", "expected an implementation name");
    }
    name = impl->value();
    loc = impl->loc();
  }
  if (const ImplInfo* info = find(name)) return *info;
  const std::string hint = did_you_mean(name, names());
  throw ConfigError(loc, path + ".impl",
                    "unknown " + interface_ + " '" + name + "'" +
                        (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                        "; known: " + join(names()));
}

}  // namespace cimkit
