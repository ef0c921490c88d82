#include <system_error>

#include "net/echo_engine.h"
#include "net/error.h"

namespace net {

std::unique_ptr<EchoEngine> make_uring_echo_engine(TcpListener&, const ServerLimits&, ServerEvents&,
                                                   const EngineOptions&) {
  throw Error(std::make_error_code(std::errc::function_not_supported),
              "io_uring engine: not built yet");
}

}  // namespace net
