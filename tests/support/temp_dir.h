#pragma once

// A private scratch folder for a test's files (logs, outputs, inputs), removed with everything in
// it when the test ends, whether it passed or not.
//
// Threading: create and destroy on one thread; path() and file() are safe from any thread.

#include <filesystem>
#include <string>
#include <string_view>

namespace testing_support {

class TempDir {
 public:
  // A fresh folder PREFIX-XXXXXX in the system's temporary folder; throws if it cannot be made.
  explicit TempDir(std::string_view prefix = "suite-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Path of `name` inside the folder (not created).
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace testing_support
