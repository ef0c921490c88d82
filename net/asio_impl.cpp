// The one translation unit that compiles Asio's implementation (ASIO_SEPARATE_COMPILATION):
// every other file includes only Asio's declarations, which keeps rebuilds fast.
#include <asio/impl/src.hpp>
