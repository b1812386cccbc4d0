// Commands served by a program of their own, installed next to `xpool`
// (`xpool sim ...` runs `xpool-sim ...`), the way git and cargo run theirs.
#pragma once

#include <optional>
#include <string>

namespace xpool::cli {

// The program serving `command`, if it is an external command.
std::optional<std::string> ExternalProgram(const std::string &command);

// Replaces this process with `program` (found in the folder holding the
// running xpool) and the arguments after argv[1]. Returns only on failure,
// with the exit code to use after printing why.
int RunExternal(const std::string &program, int argc, char **argv);

}  // namespace xpool::cli
