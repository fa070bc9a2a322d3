#include "cli/exit_status.hpp"

#include <c10/util/Exception.h>

#include "core/error.hpp"
#include "core/text.hpp"

namespace cimkit::cli {
namespace {

// "cimkit", "cimkit mvm", "cimkit docs config".
std::string command_path(const CLI::App* cmd) {
  std::string path;
  for (const CLI::App* c = cmd; c; c = c->get_parent()) {
    const std::string name = c->get_parent() ? c->get_name() : "cimkit";
    path = path.empty() ? name : name + " " + path;
  }
  return path;
}

// The subcommand the command line got furthest into (the app itself when none was recognised).
CLI::App* deepest_command(CLI::App& app) {
  CLI::App* c = &app;
  while (!c->get_subcommands().empty()) c = c->get_subcommands().front();
  return c;
}

std::vector<CLI::App*> subcommands_of(CLI::App* cmd) {
  return cmd->get_subcommands(
      [](CLI::App* s) { return !s->get_group().empty(); });  // hidden ones stay hidden
}

std::vector<std::string> names_of(const std::vector<CLI::App*>& cmds) {
  std::vector<std::string> names;
  for (const CLI::App* s : cmds) names.push_back(s->get_name());
  return names;
}

// "  run       Train a network..." for each subcommand.
std::string subcommand_list(CLI::App* cmd) {
  size_t width = 0;
  for (const CLI::App* s : subcommands_of(cmd)) width = std::max(width, s->get_name().size());
  std::string out;
  for (const CLI::App* s : subcommands_of(cmd)) {
    out += "  " + s->get_name() + std::string(width + 2 - s->get_name().size(), ' ') +
           s->get_description() + "\n";
  }
  return out;
}

// A command that needs a subcommand did not get a known one: name what was given instead, what
// is known and the closest match.
void report_missing_subcommand(CLI::App* cmd, std::ostream& err) {
  const std::string path = command_path(cmd);
  const std::vector<std::string> known = names_of(subcommands_of(cmd));
  std::string word, option;
  for (const std::string& arg : cmd->remaining()) {
    if (arg.empty()) continue;
    if (arg[0] != '-' && word.empty()) word = arg;
    if (arg[0] == '-' && option.empty()) option = arg;
  }
  if (!word.empty()) {
    err << path << ": error: unknown command '" << word << "'" << did_you_mean_hint(word, known)
        << "; known: " << join(known) << "\n";
  } else if (!option.empty()) {
    err << path << ": error: unknown option '" << option << "' (a command comes first: " << path
        << " <command> [options])\n";
  } else {
    err << path << ": error: no command given\n";
  }
  err << "usage: " << path << " <command> [options]; commands:\n"
      << subcommand_list(cmd) << "Run '" << path << " <command> --help' for a command's options.\n";
}

// The required options and arguments of `cmd` the command line did not give.
std::vector<const CLI::Option*> missing_required(const CLI::App* cmd) {
  std::vector<const CLI::Option*> out;
  for (const CLI::Option* o : cmd->get_options()) {
    if (o->get_required() && o->count() == 0) out.push_back(o);
  }
  return out;
}

// Arguments `cmd` does not take: an unknown option with the closest known one, or an argument
// too many. False when there is nothing to name (the caller then prints CLI11's message).
bool report_extras(const CLI::App& app, const CLI::App* cmd, std::ostream& err) {
  std::vector<std::string> options;
  for (const CLI::Option* o : cmd->get_options()) {
    for (const std::string& name : o->get_lnames()) options.push_back("--" + name);
  }
  const std::string path = command_path(cmd);
  const std::vector<std::string> extras = app.remaining(true);
  for (const std::string& arg : extras) {
    if (arg.size() > 1 && arg[0] == '-') {
      err << path << ": error: unknown option '" << arg << "'"
          << did_you_mean_hint(arg.substr(0, arg.find('=')), options) << "\n";
    } else {
      err << path << ": error: unexpected argument '" << arg << "'\n";
    }
  }
  return !extras.empty();
}

}  // namespace

int report_parse_error(CLI::App& app, const CLI::ParseError& e, std::ostream& out,
                       std::ostream& err) {
  if (dynamic_cast<const CLI::Success*>(&e)) {  // --help, --help-all, --version
    app.exit(e, out, err);
    return kExitSuccess;
  }
  CLI::App* cmd = deepest_command(app);
  const std::string path = command_path(cmd);
  if (cmd->get_require_subcommand_min() > 0 && cmd->get_subcommands().empty()) {
    report_missing_subcommand(cmd, err);
    return kExitUserError;
  }
  const auto missing = dynamic_cast<const CLI::RequiredError*>(&e)
                           ? missing_required(cmd)
                           : std::vector<const CLI::Option*>{};
  if (!missing.empty()) {
    std::vector<std::string> names;
    for (const CLI::Option* o : missing)
      names.push_back(o->get_name(o->nonpositional() ? false : true));
    err << path << ": error: missing required "
        << (missing.size() == 1 ? "argument " : "arguments ") << join(names) << "\n";
    for (const CLI::Option* o : missing)
      err << "  " << o->get_name(false, true) << "  " << o->get_description() << "\n";
  } else if (!(dynamic_cast<const CLI::ExtrasError*>(&e) && report_extras(app, cmd, err))) {
    err << path << ": error: " << e.what() << "\n";
  }
  err << "Run '" << path << " --help' for its options.\n";
  return kExitUserError;
}

std::string describe_filesystem_error(const std::filesystem::filesystem_error& e) {
  // libstdc++'s what(): "filesystem error: <operation>: <reason> [<path1>] [<path2>]".
  std::string what = e.what();
  const std::string prefix = "filesystem error: ";
  if (what.compare(0, prefix.size(), prefix) == 0) what = what.substr(prefix.size());
  const std::string reason = e.code().message();
  const size_t at = what.find(": " + reason);
  std::string operation = at == std::string::npos ? what : what.substr(0, at);
  const size_t bracket = operation.find(" [");
  if (bracket != std::string::npos) operation = operation.substr(0, bracket);
  std::string paths;
  if (!e.path1().empty()) paths += " '" + e.path1().string() + "'";
  if (!e.path2().empty()) paths += " and '" + e.path2().string() + "'";
  return operation + paths + ": " + reason;
}

int report_current_exception(std::ostream& err) {
  try {
    throw;
  } catch (const ConfigError& e) {
    err << "cimkit: config error: " << e.what() << "\n";
    return kExitUserError;
  } catch (const Error& e) {
    err << "cimkit: error: " << e.what() << "\n";
    return kExitUserError;
  } catch (
      const std::filesystem::filesystem_error& e) {  // unwritable output folder, permissions, ...
    err << "cimkit: error: " << describe_filesystem_error(e) << "\n";
    return kExitUserError;
  } catch (const c10::Error& e) {
    err << "cimkit: tensor error: " << e.what_without_backtrace() << "\n";
    return kExitTensorError;
  } catch (const std::exception& e) {
    err << "cimkit: internal error (a bug in cimkit; please report it with the command line): "
        << e.what() << "\n";
    return kExitInternalError;
  } catch (...) {
    err << "cimkit: internal error (a bug in cimkit; please report it with the command line): "
           "unknown exception\n";
    return kExitInternalError;
  }
}

}  // namespace cimkit::cli
