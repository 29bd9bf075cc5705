#pragma once
// A fresh directory of a test's own under the system's temporary directory, unique across
// processes and runs, removed with everything in it when the object goes. As a fixture's
// member it goes after the fixture's destructor body, so whatever writes into it (a broker, a
// database) is closed by then.
#include <string>

namespace stoa::test {

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace stoa::test
