// The exit status of the `cimkit` binary (README "Exit status": 0 success, 2 user mistakes, 3
// tensor errors, 4 bugs only) and its messages for command-line mistakes; and every subcommand,
// found from `cimkit --help` itself, run with --help and with no arguments.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "cli/run_cimkit.hpp"
#include "support/scratch.hpp"

namespace {

using cimkit::testing::CliRun;
using cimkit::testing::run_cimkit;

const std::string kData = CIMKIT_TEST_DATA_DIR;

// The names listed under "Subcommands:" in a --help text.
std::vector<std::string> listed_subcommands(const std::string& help) {
  std::vector<std::string> names;
  std::istringstream in(help);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("Subcommands:", 0) == 0) {
      inside = true;
    } else if (inside && line.rfind("  ", 0) == 0) {
      std::istringstream words(line);
      std::string name;
      words >> name;
      names.push_back(name);
    } else if (inside) {
      inside = false;
    }
  }
  return names;
}

// `cimkit [PATH] --help` for every command path ("" for cimkit itself, "run", "docs config",
// ...), found from the binary's own help texts, so a new subcommand is covered without editing
// this enumeration. Run once per test program.
const std::map<std::string, CliRun>& help_of_every_command() {
  static const std::map<std::string, CliRun> all = [] {
    std::map<std::string, CliRun> out;
    std::vector<std::string> todo = {""};
    while (!todo.empty()) {
      const std::string path = todo.back();
      todo.pop_back();
      const CliRun help = run_cimkit(path + " --help");
      for (const std::string& name : listed_subcommands(help.output))
        todo.push_back(path.empty() ? name : path + " " + name);
      out.emplace(path, help);
    }
    return out;
  }();
  return all;
}

std::vector<std::string> all_command_paths() {
  std::vector<std::string> paths;
  for (const auto& [path, help] : help_of_every_command()) {
    if (!path.empty()) paths.push_back(path);
  }
  return paths;
}

}  // namespace

TEST(ExitCodes, HelpAndVersionSucceed) {
  const CliRun help = run_cimkit("--help");
  EXPECT_EQ(help.code, 0) << help.output;
  EXPECT_HAS(help.output, "Subcommands:");
  const CliRun r = run_cimkit("--version");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_HAS(r.output, "cimkit 0.1.0");
}

TEST(ExitCodes, NoCommandPrintsTheCommands) {
  const CliRun r = run_cimkit("");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "no command given");
  EXPECT_HAS(r.output, "usage: cimkit <command>");
  for (const std::string& name : listed_subcommands(run_cimkit("--help").output)) {
    EXPECT_HAS(r.output, "  " + name + " ");
  }
}

TEST(ExitCodes, UnknownCommandNamesItAndSuggestsTheClosest) {
  CliRun r = run_cimkit("thremal -f x.yaml");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "unknown command 'thremal' (did you mean 'thermal'?)");
  EXPECT_HAS(r.output, "known: run, search, nas, cost, thermal, plot, demo, mvm, list, describe, docs");
  r = run_cimkit("tarin");  // nothing close: no suggestion, but the list
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "unknown command 'tarin'; known: run, search, nas, cost");
  EXPECT_EQ(r.output.find("did you mean"), std::string::npos) << r.output;
  r = run_cimkit("docs confg");  // a nested command
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "cimkit docs: error: unknown command 'confg' (did you mean 'config'?)");
  r = run_cimkit("--verbose");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "unknown option '--verbose'");
}

TEST(ExitCodes, CommandLineMistakesAreUserErrors) {
  // Unknown option (CLI11 alone exits 109), bad values (105), a missing value, extra arguments.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"cost --netwrok resnet18", "--netwrok"},     {"demo --images 0", "--images"},
      {"demo --images many", "--images"},           {"mvm --weights", "--weights"},
      {"describe crossbar operating", "operating"}, {"list adc dac", "dac"},
  };
  for (const auto& [args, names] : cases) {
    const CliRun r = run_cimkit(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_HAS(r.output, names);
    EXPECT_HAS(r.output, "--help' for its options");
  }
  CliRun r = run_cimkit("cost --netwrok resnet18");
  EXPECT_HAS(r.output,
             "cimkit cost: error: unknown option '--netwrok' (did you mean '--network'?)");
  r = run_cimkit("describe crossbar operating");
  EXPECT_HAS(r.output, "cimkit describe: error: unexpected argument 'operating'");
}

TEST(ExitCodes, MissingRequiredOptionsAreAllNamed) {
  const CliRun r = run_cimkit("mvm --inputs " + kData + "/x_codes.pt");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "cimkit mvm: error: missing required arguments --weights, --out");
  EXPECT_EQ(r.output.find("missing required arguments --weights, --inputs"), std::string::npos)
      << r.output;
}

TEST(ExitCodes, UnwritableOutputFolderIsAUserErrorNamingIt) {
  // /proc refuses new entries even to root, so this holds whoever runs the tests.
  CliRun r = run_cimkit("run --out /proc/cimkit_forbidden/run");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "cimkit: error: cannot create directories '/proc/cimkit_forbidden/run': ");
  r = run_cimkit("demo --images 1 --out-dir /proc/cimkit_forbidden");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "'/proc/cimkit_forbidden'");
  EXPECT_EQ(r.output.find("error vs float"), std::string::npos)
      << "the folder is checked before the work\n"
      << r.output;
  r = run_cimkit("mvm --weights " + kData + "/w_codes.pt --inputs " + kData +
                 "/x_codes.pt --integer --out /proc/cimkit_forbidden/y.pt");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_HAS(r.output, "/proc/cimkit_forbidden/y.pt");
}

// What each command does without arguments. A command that is missing here fails
// EveryCommandWithoutArguments: decide and add it.
struct NoArguments {
  bool run;  // false: a documented default job (training, simulation): not run here
  int code;  // expected exit status when run
  std::vector<std::string> says;  // in the output when run; in --help when not
};

const std::map<std::string, NoArguments>& no_argument_behaviour() {
  static const std::map<std::string, NoArguments> table = {
      {"run", {false, 0, {"default: configs/quickstart.yaml"}}},
      {"search", {true, 2, {"missing required argument config"}}},
      {"nas", {true, 2, {"missing required argument config"}}},
      {"demo",
       {false, 0, {"default: the default chip preset", "default: runs/demo", "default 1000"}}},
      {"cost", {true, 0, {"resnet18"}}},  // the documented default network, shapes only (fast)
      {"thermal", {true, 2, {"--floorplan", "--network"}}},
      {"plot", {true, 2, {"missing required argument"}}},
      {"mvm", {true, 2, {"missing required arguments --weights, --inputs, --out"}}},
      {"list", {true, 0, {"What you can name (cimkit list KIND)"}}},
      {"describe", {true, 2, {"missing required argument what"}}},
      {"docs", {true, 2, {"no command given", "config"}}},
      {"docs config", {true, 0, {"# Configuration reference"}}},
  };
  return table;
}

TEST(Subcommands, HelpListsExactlyTheKnownOnesAndEachHasHelp) {
  std::vector<std::string> expected;
  for (const auto& [path, behaviour] : no_argument_behaviour()) expected.push_back(path);
  EXPECT_EQ(all_command_paths(), expected)
      << "a command was added or removed: update no_argument_behaviour()";
  for (const auto& [path, r] : help_of_every_command()) {
    EXPECT_EQ(r.code, 0) << path << "\n" << r.output;
    EXPECT_HAS(r.output, "Usage: cimkit" + (path.empty() ? "" : " " + path) + " [OPTIONS]");
  }
}

TEST(Subcommands, EveryCommandWithoutArguments) {
  const auto& table = no_argument_behaviour();
  for (const std::string& path : all_command_paths()) {
    const auto it = table.find(path);
    ASSERT_NE(it, table.end()) << "cimkit " << path
                               << ": say in no_argument_behaviour() what it does without arguments";
    const NoArguments& b = it->second;
    const CliRun r = b.run ? run_cimkit(path) : help_of_every_command().at(path);
    EXPECT_EQ(r.code, b.run ? b.code : 0) << path << "\n" << r.output;
    for (const std::string& s : b.says) EXPECT_HAS(r.output, s) << " (cimkit " << path << ")";
  }
}
