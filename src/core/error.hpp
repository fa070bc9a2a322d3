// Typed errors. Library code throws these; only `main` turns them into a message and an exit
// code. Every error a user can cause names where it came from (file, line, config key path),
// the offending value and what is allowed, so the message alone is enough to fix the input.
#pragma once
#include <stdexcept>
#include <string>

namespace cimkit {

// Base of all cimkit errors.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where a configuration value came from: a file and a 1-based line, or a pseudo-source such
// as "--set" for command-line overrides or "<default>" for declared defaults.
struct SourceLoc {
  std::string file;  // empty when unknown
  int line = 0;      // 1-based; 0 when unknown
  std::string str() const;
};

// A bad configuration value or file. what() is "<file>:<line>: <key.path>: <message>", with
// the parts that are unknown left out.
class ConfigError : public Error {
 public:
  ConfigError(SourceLoc loc, std::string key_path, std::string message);
  const SourceLoc& loc() const { return loc_; }
  const std::string& key_path() const { return key_path_; }
  const std::string& message() const { return message_; }

 private:
  SourceLoc loc_;
  std::string key_path_;
  std::string message_;
};

// A bad data file (tensor file, dataset, checkpoint): names the file and what was expected.
class DataError : public Error {
 public:
  DataError(const std::string& file, const std::string& message);
};

// A tensor argument with the wrong shape, dtype or device for an API call.
class ShapeError : public Error {
 public:
  using Error::Error;
};

}  // namespace cimkit
