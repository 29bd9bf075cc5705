#pragma once
// Stoa's asynchronous functions are C++20 coroutines on Asio's awaitable. This is the one
// Asio header that public headers include: handlers and clients return Awaitable<T>.
#include <boost/asio/awaitable.hpp>

namespace stoa {
template <class T>
using Awaitable = boost::asio::awaitable<T>;
}  // namespace stoa
