#include "chat/log_history.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>
#include <vector>

#include "base/text_escape.h"

namespace chat {

namespace {

constexpr std::size_t kBlockBytes = 64 * 1024;

// Reads exactly `size` bytes at `offset`, or fewer at the end of the file; false on an error.
bool read_at(int fd, std::string& out, off_t offset, std::size_t size) {
  out.resize(size);
  std::size_t done = 0;
  while (done < size) {
    const auto n = ::pread(fd, out.data() + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return true;
}

// What base::escape_text makes of a line that holds nothing to fear: only the backslash and the
// first byte of a chat prefix ("<<<(", ">>>(") are escaped, as the escaper does, left to right.
std::string harmless_escapes(std::string_view line) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const auto rest = line.substr(i);
    if (line[i] == '\\') {
      out += "\\\\";
    } else if (rest.starts_with("<<<(")) {
      out += "\\x3c";
    } else if (rest.starts_with(">>>(")) {
      out += "\\x3e";
    } else {
      out += line[i];
    }
  }
  return out;
}

// A line the escaper would change only in harmless ways is what the chat wrote: shown as it is,
// so its own escapes stay readable. Any other line (a control byte, invalid UTF-8, a bidi
// control) was not written by the chat, and is escaped again.
std::string safe_line(std::string_view line) {
  auto escaped = base::escape_text(line);
  return escaped == harmless_escapes(line) ? std::string(line) : escaped;
}

}  // namespace

std::string read_log_history(const std::string& path, std::size_t lines) {
  if (lines == 0) return {};
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return {};
  struct stat info {};
  std::string tail;  // the end of the file, read so far
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode)) {
    off_t position = info.st_size;
    std::string block;
    // Read backwards until the tail holds `lines` line ends before its last line, the start of
    // the file, or the byte limit.
    while (position > 0 && tail.size() < kMaxHistoryBytes) {
      const auto size =
          static_cast<std::size_t>(std::min<off_t>(position, static_cast<off_t>(kBlockBytes)));
      position -= static_cast<off_t>(size);
      if (!read_at(fd, block, position, size) || block.size() != size) break;
      tail.insert(0, block);
      std::string_view body(tail);
      if (body.ends_with('\n')) body.remove_suffix(1);
      if (static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n')) >= lines) break;
    }
    if (position > 0) {
      // Not read from the start: the first line may be cut; keep only whole lines.
      const auto first_end = tail.find('\n');
      tail.erase(0, first_end == std::string::npos ? tail.size() : first_end + 1);
    }
  }
  ::close(fd);
  std::string_view body(tail);
  if (body.ends_with('\n')) body.remove_suffix(1);
  std::vector<std::string_view> found;
  while (!body.empty() && found.size() < lines) {
    const auto start = body.rfind('\n');
    found.push_back(start == std::string_view::npos ? body : body.substr(start + 1));
    body = start == std::string_view::npos ? std::string_view() : body.substr(0, start);
  }
  std::string out;
  for (auto line = found.rbegin(); line != found.rend(); ++line) {
    if (!out.empty()) out += '\n';
    out += safe_line(*line);
  }
  return out;
}

}  // namespace chat
