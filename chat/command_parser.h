#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "net/endpoint.h"

namespace chat {

// What one line typed in line mode (the default) asks for. Parsing is pure: no I/O, no name
// resolution, no exceptions; a fuzz target calls these functions directly.
//   /peer HOST:PORT   -> peer (HOST a name or address, IPv6 in brackets: [::1]:7890)
//   /peer NAME        -> peer_name (a name peers announce, like alice@lab; no ':' in it)
//   /who              -> who (the peers discovered on the LAN)
//   /quit             -> quit
//   /help, /?         -> help
//   //text            -> send "/text" (a line that starts with '/')
//   (empty line)      -> nothing
//   /anything-else    -> invalid, with a message
//   anything else     -> send the line as it is
struct Command {
  enum class Kind { send, peer, quit, help, nothing, invalid, who, peer_name };
  Kind kind = Kind::nothing;
  // send: the line to send; invalid: a one-line message for the user; peer_name: the name
  std::string text;
  net::HostPort peer;  // peer
};

// Thread-safe (pure).
Command parse_command(std::string_view line);

// The one-line help shown for /help, lines separated by '\n'. Thread-safe.
std::string_view command_help();

// The classic menu flow of the Python chat this replaces (--menu), as a pure state machine: the
// caller shows menu_prompt(context), reads a line, calls menu_step, acts on the result and shows
// its message (if any) and the next prompt. Bad input keeps the state and explains what is wanted.
//   choosing     "1" -> asking_ip; "2" -> quit
//   asking_ip    an IPv4/IPv6 address or a host name (not 256.1.1.1, not "a b") -> asking_port;
//                an empty line takes the last address used, if any
//   asking_port  1..65535 (not abc, 0, 65536) -> sending, with the new peer; an empty line takes
//                the last port used, if any
//   sending      a non-empty line -> send it; an empty line -> back to choosing
// The last address and port used are remembered in the context for the rest of the run.
enum class MenuState { choosing, asking_ip, asking_port, sending };

struct MenuContext {
  // A constructor rather than an aggregate, so MenuContext{state, ip} leaves the remembered
  // values empty without naming them.
  MenuContext(MenuState state_ = MenuState::choosing, std::string ip_ = {})
      : state(state_), ip(std::move(ip_)) {}

  MenuState state;
  std::string ip;               // asking_port: the address entered, as typed (trimmed)
  std::string last_ip;          // the host of the last peer chosen (no brackets); "" for none
  std::uint16_t last_port = 0;  // the port of the last peer chosen; 0 for none
};

struct MenuStep {
  enum class Action { none, quit, set_peer, send };
  MenuContext next;
  Action action = Action::none;
  net::HostPort peer;   // set_peer
  std::string text;     // send
  std::string message;  // a one-line explanation for bad input, to show before the prompt
};

// Thread-safe (pure).
MenuStep menu_step(const MenuContext& context, std::string_view line);

// The prompt to show in `context`. It may span lines, separated by '\n': explanations come first,
// and the last line is the prompt itself, ending in ": ", with the default Enter takes in
// brackets ("IP address [127.0.0.1]: "), so a terminal can keep the cursor after it.
// Thread-safe (pure).
std::string menu_prompt(const MenuContext& context);
// The same without remembered defaults.
std::string menu_prompt(MenuState state);

// A host name as a resolver takes it: dot-separated labels of letters, digits, '-' and '_', each
// 1 to 63 bytes, at most 253 in all, and not all digits and dots (256.1.1.1 is a bad address,
// not a name). Thread-safe (pure).
bool is_host_name(std::string_view text);

}  // namespace chat
