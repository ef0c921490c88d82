#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace chat {

// Lines of chat that happened at one moment, on their way to the log (and the terminal): one
// receive batch of datagrams, or one sent line. Each line is complete and escaped, ends in '\n'
// and holds no other newline: ">>>(IP, PORT):TEXT\n" or "<<<(IP, PORT):TEXT\n", or a receipt's
// outcome, "===(IP, PORT):delivered #N ...\n" (docs/design.md, "The chat's lines"). The log writer
// puts the timestamp in front of each. Carrying many lines in one string keeps the 200,000
// datagrams/s path to one allocation and one queue operation per batch, not per datagram.
// Threading: a plain value, moved from thread to thread through a BlockingQueue.
struct MessageBatch {
  // Set by ChatLog::add as the batch enters the log's queue (whatever a producer put here), so
  // the times in the log follow the order of its lines.
  std::chrono::system_clock::time_point time;
  std::string lines;
  std::size_t count = 0;  // number of lines
};

}  // namespace chat
