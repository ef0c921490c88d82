#include "load/report_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "base/text_escape.h"

namespace load {

namespace {

// Writes all of `text` to `fd`; false (errno set) if it cannot.
bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const auto n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

ReportOutput::ReportOutput(std::string path) : path_(std::move(path)) {
  if (!enabled() || to_stdout()) return;
  // Created here if it is not there (and then ours to remove if the run fails); an existing file
  // is opened without truncating it, so a run that fails leaves it as it was.
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ >= 0) {
    created_ = true;
    return;
  }
  if (errno == EEXIST) fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd_ < 0) {
    throw ReportPathError(
        fmt::format("{}: {}", base::quote_for_error(path_, 256), std::strerror(errno)));
  }
}

ReportOutput::~ReportOutput() {
  if (fd_ >= 0) ::close(fd_);
  if (created_ && !written_) ::unlink(path_.c_str());
}

void ReportOutput::write(const nlohmann::json& report) {
  const auto text = report.dump(2) + "\n";
  written_ = true;
  if (to_stdout()) {
    std::fflush(stdout);
    if (!write_all(STDOUT_FILENO, text)) {
      throw std::runtime_error(
          fmt::format("cannot write the JSON report to stdout: {}", std::strerror(errno)));
    }
    return;
  }
  bool ok = ::ftruncate(fd_, 0) == 0 && ::lseek(fd_, 0, SEEK_SET) == 0 && write_all(fd_, text);
  int error = errno;
  if (::close(fd_) != 0 && ok) {
    ok = false;
    error = errno;
  }
  fd_ = -1;
  if (!ok) {
    throw std::runtime_error(fmt::format("cannot write JSON file {}: {}",
                                         base::quote_for_error(path_, 256), std::strerror(error)));
  }
}

}  // namespace load
