#pragma once
// Listing a bucket directory in key order (internal to the filesystem store).
//
// Keys come out in byte order although they are spread over directories: each directory's
// entries are sorted by their decoded segment, a directory's as "segment/" (all its keys
// start with that), which is exactly where its keys fall among its siblings. Directories
// whose keys all sort before the cursor, or outside the prefix, are never read.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runtime/error.h"

namespace stoa::objects::filelist {

class KeyWalker {
 public:
  KeyWalker(std::filesystem::path bucket_directory, std::string prefix);
  // The next key strictly after `after` that starts with the prefix, with its file; nullopt
  // at the end. `after` must not decrease between calls.
  Result<std::optional<std::pair<std::string, std::filesystem::path>>> next(
      const std::string& after);

 private:
  struct Entry {
    std::string sort_key;  // the key, or for a directory the key prefix ending in '/'
    std::string name;      // the file name on disk
    bool directory = false;
  };
  struct Frame {
    std::filesystem::path path;
    std::vector<Entry> entries;
    std::size_t index = 0;
  };
  Status push(std::filesystem::path path, const std::string& key_prefix);

  std::string prefix_;
  std::vector<Frame> stack_;
  Status opened_ = Ok{};
};

}  // namespace stoa::objects::filelist
