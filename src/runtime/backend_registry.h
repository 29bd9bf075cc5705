#pragma once
// The one scheme -> opener registry behind every URL-chosen backend (database.url, cache.url,
// broker.url, objects.url). Each adapter registers its schemes from its own .cpp, so the
// interface that opens backends never names an engine:
//
//   BackendRegistry<DriverFactory>& drivers() {
//     static BackendRegistry<DriverFactory> registry("database.url");
//     return registry;
//   }
//   // in the SQLite driver's .cpp, through sql::register_driver():
//   [[maybe_unused]] const bool registered = drivers().add("sqlite", open_sqlite);
//
// The registry is a function-local static so that adapters' namespace-scope constants may
// register before main() in any order. Thread-safe.
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "runtime/backend_url.h"
#include "runtime/error.h"

namespace stoa {

template <class Opener>
class BackendRegistry {
 public:
  // `setting` names the URL in messages: "database.url".
  explicit BackendRegistry(std::string setting) : setting_(std::move(setting)) {}

  // Returns true, to initialise a namespace-scope constant. A second add() of a scheme
  // replaces the first.
  bool add(std::string scheme, Opener opener) {
    std::lock_guard lock(mutex_);
    openers_[std::move(scheme)] = std::move(opener);
    return true;
  }

  // The opener of `url`'s scheme; Errc::invalid_argument otherwise, naming the setting, the
  // URL (its scheme only: it may hold a password) and the known schemes:
  //   database.url "mysql://...": unknown scheme 'mysql'; known: postgres, postgresql, sqlite
  Result<Opener> find(std::string_view url) const {
    const std::string scheme = url_scheme(url);
    std::lock_guard lock(mutex_);
    if (!scheme.empty()) {
      if (auto it = openers_.find(scheme); it != openers_.end()) return it->second;
    }
    const std::string what =
        scheme.empty() ? " is not a URL (SCHEME://…)" : ": unknown scheme '" + scheme + "'";
    return Error{Errc::invalid_argument,
                 setting_ + " " + quote_url_for_message(url) + what + "; known: " + known()};
  }

 private:
  std::string known() const {
    std::string out;
    for (const auto& [scheme, opener] : openers_) out += (out.empty() ? "" : ", ") + scheme;
    return out.empty() ? "none" : out;
  }

  const std::string setting_;
  mutable std::mutex mutex_;
  std::map<std::string, Opener, std::less<>> openers_;
};

}  // namespace stoa
