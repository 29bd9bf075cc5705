#pragma once
// The stores behind shared_object_store(): each registers itself for its objects.url scheme
// from its own .cpp (as SQL drivers and broker adapters do), so the chooser never names one.
#include <functional>
#include <memory>
#include <string>

#include "data/objects/object_store.h"

namespace stoa {
class ComponentHost;
}

namespace stoa::objects {

// The store components use for `url`, opened for the process `host` (its config holds the
// store's other settings).
using StoreFactory = std::function<Result<std::shared_ptr<ObjectStore>>(const std::string& url,
                                                                        ComponentHost& host)>;

// Returns true so that it can initialise a namespace-scope constant:
//   [[maybe_unused]] const bool registered = register_store("s3", open_s3);
bool register_store(std::string scheme, StoreFactory factory);

}  // namespace stoa::objects
