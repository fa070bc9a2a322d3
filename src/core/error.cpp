#include "core/error.hpp"

namespace cimkit {

std::string SourceLoc::str() const {
  if (file.empty()) return {};
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

static std::string format_config_error(const SourceLoc& loc, const std::string& path,
                                       const std::string& message) {
  std::string out;
  const std::string where = loc.str();
  if (!where.empty()) out += where + ": ";
  if (!path.empty()) out += path + ": ";
  return out + message;
}

ConfigError::ConfigError(SourceLoc loc, std::string key_path, std::string message)
    : Error(format_config_error(loc, key_path, message)),
      loc_(std::move(loc)),
      key_path_(std::move(key_path)),
      message_(std::move(message)) {}

DataError::DataError(const std::string& file, const std::string& message)
    : Error(file + ": " + message) {}

}  // namespace cimkit
