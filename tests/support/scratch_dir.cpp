#include "support/scratch_dir.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "runtime/uuid.h"

namespace stoa::test {

ScratchDir::ScratchDir(const std::string& prefix)
    : path_((std::filesystem::temp_directory_path() /
             (prefix + "-" + std::to_string(::getpid()) + "-" + Uuid::v7().to_string()))
                .string()) {
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace stoa::test
