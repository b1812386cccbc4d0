#include "external_command.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <vector>

namespace xpool::cli {

std::optional<std::string> ExternalProgram(const std::string &command) {
  if (command == "sim") return "xpool-sim";
  return std::nullopt;
}

int RunExternal(const std::string &program, int argc, char **argv) {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  const std::string path = error ? program : (self.parent_path() / program).string();
  std::vector<char *> args;
  args.push_back(const_cast<char *>(path.c_str()));
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(path.c_str(), args.data());
  std::cerr << "xpool " << argv[1] << ": error: cannot run " << path << ": " << std::strerror(errno)
            << "\n";
  return 1;
}

}  // namespace xpool::cli
