// How the `cimkit` binary ends: its exit status and the one message on stderr that says why
// (README "Exit status"). Library code throws typed errors (core/error.hpp); only `main` turns
// them into a status here.
#pragma once
#include <CLI/CLI.hpp>

#include <filesystem>
#include <ostream>
#include <string>

namespace cimkit::cli {

enum ExitStatus : int {
  kExitSuccess = 0,
  kExitUserError = 2,      // bad command line, config, data file, unwritable output, ...
  kExitTensorError = 3,    // LibTorch refused an operation (c10::Error)
  kExitInternalError = 4,  // a bug in cimkit: any other exception
  kExitInterrupted = 130,  // Ctrl-C / SIGTERM during training (checkpoint written)
};

// After app.parse(...) threw `e`: --help and --version print to `out` and give 0; every other
// parse error (unknown option or subcommand, missing required option, bad value, extra
// argument) says what was wrong on `err`, naming the command and what it accepts, and gives 2.
int report_parse_error(CLI::App& app, const CLI::ParseError& e, std::ostream& out,
                       std::ostream& err);

// Call inside a catch block: a message for the exception being handled on `err`, and its status.
int report_current_exception(std::ostream& err);

// "cannot create directories '/proc/x': No such file or directory": the operation, the path(s)
// and the reason of a std::filesystem error.
std::string describe_filesystem_error(const std::filesystem::filesystem_error& e);

}  // namespace cimkit::cli
