#include "data/objects/file_list.h"

#include <dirent.h>

#include <algorithm>

#include "data/objects/file_io.h"
#include "data/objects/file_layout.h"

namespace stoa::objects::filelist {

KeyWalker::KeyWalker(std::filesystem::path bucket_directory, std::string prefix)
    : prefix_(std::move(prefix)) {
  opened_ = push(std::move(bucket_directory), "");
}

Status KeyWalker::push(std::filesystem::path path, const std::string& key_prefix) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    // A directory removed by a concurrent delete is simply empty now.
    if (errno == ENOENT) return Ok{};
    return fileio::os_error("list", path);
  }
  Frame frame{.path = std::move(path), .entries = {}, .index = 0};
  while (dirent* e = ::readdir(dir)) {
    std::string_view name(e->d_name);
    bool directory = name.ends_with(layout::kDirectorySuffix);
    if (!directory && !name.ends_with(layout::kObjectSuffix)) continue;  // ., .., foreign files
    auto segment = layout::decode_segment(name.substr(0, name.size() - 2));
    if (!segment) continue;
    std::string sort_key = key_prefix + *segment;
    if (directory) sort_key += '/';
    frame.entries.push_back({std::move(sort_key), std::string(name), directory});
  }
  ::closedir(dir);
  std::sort(frame.entries.begin(), frame.entries.end(),
            [](const Entry& a, const Entry& b) { return a.sort_key < b.sort_key; });
  stack_.push_back(std::move(frame));
  return Ok{};
}

Result<std::optional<std::pair<std::string, std::filesystem::path>>> KeyWalker::next(
    const std::string& after) {
  if (!opened_) return opened_.error();
  while (!stack_.empty()) {
    Frame& frame = stack_.back();
    if (frame.index >= frame.entries.size()) {
      stack_.pop_back();
      continue;
    }
    const Entry& entry = frame.entries[frame.index++];
    const std::string& k = entry.sort_key;
    if (!entry.directory) {
      if (k <= after) continue;
      if (!k.starts_with(prefix_)) {
        if (k > prefix_) stack_.clear();  // sorted: nothing further can match
        continue;
      }
      return std::optional(std::pair(k, frame.path / entry.name));
    }
    // A directory holds the keys in [k, k + 0xFF): keys are UTF-8, which never has 0xFF.
    bool all_before_cursor = !after.starts_with(k) && after > k;
    if (all_before_cursor) continue;
    bool may_match = k.starts_with(prefix_) || prefix_.starts_with(k);
    if (!may_match) {
      if (k > prefix_) stack_.clear();
      continue;
    }
    std::filesystem::path child = frame.path / entry.name;
    std::string key_prefix = k;
    if (auto s = push(std::move(child), key_prefix); !s) return s.error();
  }
  return std::optional<std::pair<std::string, std::filesystem::path>>();
}

}  // namespace stoa::objects::filelist
