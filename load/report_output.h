#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace load {

// Where loadgen's JSON report goes (--json): nowhere (""), stdout ("-"), or a file. The file is
// opened when this is made, before any load is sent, so an unwritable path (missing folder, no
// permission, a folder) fails at once instead of after the run; the run's report then replaces
// whatever the file held. A file this created is removed again if no report was written (the
// run failed).
//
// Threading: one thread at a time.
class ReportOutput {
 public:
  // Throws ReportPathError when the file cannot be opened for writing.
  explicit ReportOutput(std::string path);
  ReportOutput(const ReportOutput&) = delete;
  ReportOutput& operator=(const ReportOutput&) = delete;
  ~ReportOutput();

  bool enabled() const { return !path_.empty(); }
  bool to_stdout() const { return path_ == "-"; }

  // Writes `report` (pretty-printed, one trailing newline). Throws std::runtime_error when it
  // cannot. Once only.
  void write(const nlohmann::json& report);

 private:
  std::string path_;
  int fd_ = -1;
  bool created_ = false;
  bool written_ = false;
};

// The --json path cannot be written; what() says why ("'/x/y.json': No such file or directory").
// Threading: a plain value.
class ReportPathError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace load
