#pragma once

#include <cstddef>
#include <string>

namespace chat {

// The end of an existing chat log, for --history (docs/design.md, "History"): the last `lines`
// lines of the file at `path`, read backwards from its end in blocks, so the memory is bounded
// by what is shown, never by the size of the file (a 1 GB log costs a few blocks). At most
// kMaxHistoryBytes are read: when the last `lines` lines are longer than that, only the newest
// whole lines within it are shown.
//
// The log's lines are escaped when written, but the file is not trusted (anyone who can write it
// can put anything in it): a line with a control byte, invalid UTF-8 or anything else the
// escaper changes is escaped again (base::escape_text), so nothing in the file can drive the
// terminal. Clean lines are shown as they are, so the log's own "\n" escapes stay readable.
//
// Returns the lines joined by '\n' (no final '\n'); "" when the file is missing, empty or
// unreadable, or `lines` is 0. Never throws for a bad file.
// Threading: thread-safe (reads the file on the calling thread; blocking).
inline constexpr std::size_t kMaxHistoryBytes = 4 * 1024 * 1024;
std::string read_log_history(const std::string& path, std::size_t lines);

}  // namespace chat
