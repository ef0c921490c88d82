#pragma once

// Sockets passed by a service manager (systemd socket activation), read the way sd_listen_fds(3)
// reads them: LISTEN_PID must be this process's pid, LISTEN_FDS says how many descriptors start
// at fd 3. A small parser of our own rather than libsystemd (docs/design.md, "Socket
// activation"): the protocol is two variables and a descriptor number, and the package then
// depends on nothing more.
//
// Threading: call from main() before any other thread exists (it reads and edits the
// environment, which is not thread-safe).

#include <vector>

namespace net {

// The first descriptor a service manager passes (SD_LISTEN_FDS_START).
inline constexpr int kListenFdsStart = 3;

// The descriptors passed to this process: empty when LISTEN_PID is unset or names another
// process (a variable inherited from a parent that was activated itself), or LISTEN_FDS is unset,
// 0 or not a plain decimal number. Each descriptor returned is marked close-on-exec, so programs
// started later do not inherit the listener. LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are
// removed from the environment either way, as sd_listen_fds(1) does, so that they do not reach
// children.
std::vector<int> take_listen_fds();

}  // namespace net
