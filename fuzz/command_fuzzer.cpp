// Fuzzes what a person (or a script) types into udp-chat: the line-mode command parser and the
// classic menu state machine. Properties: never crash or throw; a peer command always carries a
// usable endpoint (non-empty host, port 1..65535); every message for the user is one line; the
// menu never leaves a state it was not asked to, and only "sending" sends.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "chat/command_parser.h"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

bool one_line(std::string_view text) {
  return text.find_first_of("\r\n") == std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);

  const chat::Command command = chat::parse_command(line);
  using Kind = chat::Command::Kind;
  if (command.kind == Kind::peer) {
    require(!command.peer.host.empty() && command.peer.port != 0);
  }
  if (command.kind == Kind::invalid) require(!command.text.empty() && one_line(command.text));
  if (command.kind == Kind::send) require(!command.text.empty() || line.empty());

  for (auto state : {chat::MenuState::choosing, chat::MenuState::asking_ip,
                     chat::MenuState::asking_port, chat::MenuState::sending}) {
    chat::MenuContext context;
    context.state = state;
    context.ip = "127.0.0.1";
    const chat::MenuStep step = chat::menu_step(context, line);
    require(one_line(step.message));
    using Action = chat::MenuStep::Action;
    if (step.action == Action::send) require(state == chat::MenuState::sending);
    if (step.action == Action::set_peer) {
      require(state == chat::MenuState::asking_port);
      require(!step.peer.host.empty() && step.peer.port != 0);
    }
    if (step.action == Action::quit) require(state == chat::MenuState::choosing);
    // Bad input explains itself and stays put; good input moves on or acts.
    if (!step.message.empty()) require(step.next.state == state && step.action == Action::none);
  }
  return 0;
}
