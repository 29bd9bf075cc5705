// The scheme registry every URL-chosen backend goes through: lookup by scheme, and one style of
// error for an unknown scheme or a setting that is not a URL.
#include "runtime/backend_registry.h"

#include <gtest/gtest.h>

#include <functional>

namespace stoa {
namespace {

using Opener = std::function<int(int)>;

TEST(BackendRegistry, FindsTheOpenerOfTheScheme) {
  BackendRegistry<Opener> registry("thing.url");
  EXPECT_TRUE(registry.add("one", [](int x) { return x + 1; }));
  EXPECT_TRUE(registry.add("two", [](int x) { return x + 2; }));
  auto opener = registry.find("two://host");
  ASSERT_TRUE(opener) << opener.error().message;
  EXPECT_EQ((*opener)(1), 3);
  opener = registry.find("ONE://host");
  ASSERT_TRUE(opener) << "schemes are case-insensitive";
  EXPECT_EQ((*opener)(1), 2);
  registry.add("one", [](int x) { return x + 10; });
  EXPECT_EQ((*registry.find("one://"))(1), 11) << "a later add replaces";
}

TEST(BackendRegistry, UnknownSchemesNameTheKnownOnesAndNeverThePassword) {
  BackendRegistry<Opener> registry("thing.url");
  auto empty = registry.find("x://h");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "thing.url \"x://...\": unknown scheme 'x'; known: none");
  registry.add("sqlite", [](int x) { return x; });
  registry.add("postgresql", [](int x) { return x; });
  auto unknown = registry.find("mysql://root:hunter2@db/shop");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::invalid_argument);
  EXPECT_EQ(unknown.error().message,
            "thing.url \"mysql://...\": unknown scheme 'mysql'; known: postgresql, sqlite");
  auto not_url = registry.find("data/stoa.db");
  ASSERT_FALSE(not_url);
  EXPECT_EQ(not_url.error().message,
            "thing.url \"data/stoa.db\" is not a URL (SCHEME://…); known: postgresql, sqlite");
}

}  // namespace
}  // namespace stoa
