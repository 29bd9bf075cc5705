// Stoa's S3 client backend against Stoa's own S3 endpoint (the real binary): the same SigV4
// code signs here and verifies there, the bytes go through a real socket both ways.
#include "data/objects/s3_client_store.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "runtime/digest.h"
#include "runtime/hex.h"
#include "support/raw_http.h"
#include "support/run_sync.h"
#include "support/stoa_process.h"

namespace stoa::objects {
namespace {

std::string pattern(std::size_t size) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 131) >> 3);
  return data;
}

class S3Client : public ::testing::Test {
 protected:
  // One context for the whole test: the store keeps an HTTP client per io_context. The bound
  // leaves room for the 128 MiB round trip under the sanitizers on a loaded machine.
  template <class T>
  T run_sync(Awaitable<T> awaitable) {
    return ::stoa::test::run_sync(context, std::move(awaitable), std::chrono::seconds(240));
  }
  boost::asio::io_context context;

  void SetUp() override {
    ASSERT_TRUE(stoa.wait_ready()) << stoa.log();
    store = make_s3_store(location(), {.part_bytes = 64 * 1024,
                                       .max_attempts = 3,
                                       .base_delay = std::chrono::milliseconds(1),
                                       .request_timeout = std::chrono::milliseconds(10'000)});
  }
  S3Location location(std::string secret = "stoa-secret-key") const {
    return {.bucket = "stoa",
            .endpoint = "http://127.0.0.1:" + std::to_string(stoa.s3_port),
            .region = "us-east-1",
            .access_key = "stoa",
            .secret_key = std::move(secret)};
  }
  Result<ObjectInfo> put(const std::string& key, const std::string& data, PutOptions options = {}) {
    StringSource source(data);
    return run_sync(store->put(key, source, std::move(options)));
  }
  Result<std::string> get(const std::string& key, std::optional<RangeRequest> range = {}) {
    return run_sync([&]() -> Awaitable<Result<std::string>> {
      auto reader = co_await store->get(key, range);
      if (!reader) co_return reader.error();
      co_return co_await read_all(**reader, 1 << 30);
    }());
  }

  stoa::test::StoaProcess stoa{{"serve", "objects"}, {{"STOA_S3_MIN_PART_BYTES", "64KiB"}}};
  std::shared_ptr<ObjectStore> store;
};

TEST_F(S3Client, PutGetHeadRangeRemove) {
  auto info =
      put("dir/a b.txt", "hello s3", {.content_type = "text/plain", .metadata = {{"k", "v"}}});
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->etag, to_hex(md5("hello s3")));
  auto head = run_sync(store->head("dir/a b.txt"));
  ASSERT_TRUE(head) << head.error().message;
  EXPECT_EQ(head->size, 8u);
  EXPECT_EQ(head->content_type, "text/plain");
  EXPECT_EQ(head->metadata.at("k"), "v");
  EXPECT_EQ(get("dir/a b.txt").value(), "hello s3");
  EXPECT_EQ(
      get("dir/a b.txt", RangeRequest{.first = 6, .last = std::nullopt, .suffix = std::nullopt})
          .value(),
      "s3");
  EXPECT_EQ(
      get("dir/a b.txt", RangeRequest{.first = 60, .last = std::nullopt, .suffix = std::nullopt})
          .error()
          .code,
      Errc::invalid_argument);
  ASSERT_TRUE(run_sync(store->remove("dir/a b.txt")));
  EXPECT_EQ(run_sync(store->head("dir/a b.txt")).error().code, Errc::not_found);
  EXPECT_TRUE(put("once", "1", {.if_none_match = true}));
  EXPECT_EQ(put("once", "2", {.if_none_match = true}).error().code, Errc::conflict);
}

TEST_F(S3Client, LargeObjectsGoMultipartAndComeBackInRanges) {
  std::string data = pattern(200 * 1024 + 7);  // four parts of 64 KiB
  auto info = put("big.bin", data);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_TRUE(info->etag.ends_with("-4")) << info->etag;
  auto back = get("big.bin");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(*back == data);
  EXPECT_EQ(get("big.bin", RangeRequest{.first = std::nullopt, .last = std::nullopt, .suffix = 100})
                .value(),
            data.substr(data.size() - 100));
}

// Bytes made up as they are read (and hashed on the way): an object as large as a test
// wants, never in memory whole.
class GeneratedSource final : public ByteSource {
 public:
  explicit GeneratedSource(std::uint64_t size) : remaining_(size) {}
  Awaitable<Result<std::size_t>> read(std::span<char> out) override {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), remaining_));
    for (std::size_t i = 0; i < n; ++i, ++position_) {
      out[i] = static_cast<char>((position_ * 2654435761ULL) >> 13);
    }
    hasher_.update(std::string_view(out.data(), n));
    remaining_ -= n;
    co_return n;
  }
  std::string sha256_hex() { return to_hex(hasher_.finish()); }

 private:
  std::uint64_t remaining_;
  std::uint64_t position_ = 0;
  Hasher hasher_{Hasher::Kind::sha256};
};

std::uint64_t own_status_kib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::stoull(line.substr(field.size()));
  }
  return 0;
}

TEST_F(S3Client, LargeObjectStreamsBothWaysWithBoundedMemory) {
  auto large = make_s3_store(location(), {.part_bytes = 8 * 1024 * 1024,
                                          .max_attempts = 3,
                                          .base_delay = std::chrono::milliseconds(1),
                                          .request_timeout = std::chrono::milliseconds(60'000)});
  constexpr std::uint64_t kSize = 128 * 1024 * 1024 + 12345;  // 17 parts of 8 MiB
  // Peak RSS from here on: writing 5 to clear_refs resets VmHWM to the current RSS.
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  const std::uint64_t before = own_status_kib("VmRSS:");

  GeneratedSource source(kSize);
  auto info = run_sync(large->put("large/object", source, {}));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->size, kSize);
  EXPECT_TRUE(info->etag.ends_with("-17")) << info->etag;
  auto back = run_sync([&]() -> Awaitable<Result<std::string>> {
    auto reader = co_await large->get("large/object");
    if (!reader) co_return reader.error();
    Hasher hasher(Hasher::Kind::sha256);
    std::string buffer(1024 * 1024, '\0');
    std::uint64_t total = 0;
    for (;;) {
      Result<std::size_t> n = co_await (*reader)->read(buffer);
      if (!n) co_return n.error();
      if (*n == 0) break;
      hasher.update(std::string_view(buffer.data(), *n));
      total += *n;
    }
    co_return to_hex(hasher.finish()) + " " + std::to_string(total);
  }());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, source.sha256_hex() + " " + std::to_string(kSize));

  const std::uint64_t growth = own_status_kib("VmHWM:") - before;
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer keeps freed memory resident (its quarantine, 256 MiB by default), so the
  // peak says nothing about the client there; the release build asserts it.
  std::printf("peak RSS growth under ASan: %llu KiB\n", static_cast<unsigned long long>(growth));
#else
  // A few parts' worth (the part, the request's copy, the response), not the object's 128 MiB.
  EXPECT_LT(growth, 64u * 1024) << "peak RSS grew by " << growth << " KiB";
#endif
}

TEST_F(S3Client, ListCopyAndPresign) {
  for (std::string k : {"l/a", "l/b/1", "l/b/2", "l/c"}) ASSERT_TRUE(put(k, k));
  auto listed = run_sync(
      store->list({.prefix = "l/", .delimiter = "/", .start_after = "", .max_keys = 1000}));
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->objects.size(), 2u);
  EXPECT_EQ(listed->objects[1].key, "l/c");
  EXPECT_EQ(listed->common_prefixes, std::vector<std::string>{"l/b/"});
  auto page =
      run_sync(store->list({.prefix = "l/", .delimiter = "", .start_after = "", .max_keys = 2}));
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->truncated);
  auto rest = run_sync(store->list(
      {.prefix = "l/", .delimiter = "", .start_after = page->next_marker, .max_keys = 10}));
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->objects.size(), 2u);

  auto copied = run_sync(store->copy("l/a", "l/copy", PutOptions{.content_type = "text/x"}));
  ASSERT_TRUE(copied) << copied.error().message;
  EXPECT_EQ(copied->content_type, "text/x");
  EXPECT_EQ(get("l/copy").value(), "l/a");

  auto url = store->presign("GET", "l/c", std::chrono::seconds(60));
  ASSERT_TRUE(url);
  // Fetched by a plain HTTP client without credentials.
  std::string target = url->substr(url->find('/', std::string("http://").size()));
  stoa::test::RawConnection connection(stoa.s3_port);
  connection.send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(stoa.s3_port) +
                  "\r\nConnection: close\r\n\r\n");
  std::string fetched = connection.read_response();
  EXPECT_EQ(stoa::test::status_of(fetched), 200) << fetched;
  EXPECT_EQ(stoa::test::body_of(fetched), "l/c");
}

TEST_F(S3Client, WrongSecretAndUnreachableEndpointFail) {
  auto wrong = make_s3_store(location("not-the-secret"));
  StringSource source("x");
  auto refused = run_sync(wrong->put("k", source, {}));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("SignatureDoesNotMatch"), std::string::npos);

  S3Location nowhere = location();
  nowhere.endpoint = "http://127.0.0.1:" + std::to_string(stoa::test::free_port());
  auto down = make_s3_store(nowhere, {.part_bytes = 1024,
                                      .max_attempts = 3,
                                      .base_delay = std::chrono::milliseconds(1),
                                      .request_timeout = std::chrono::milliseconds(2000)});
  auto failed = run_sync(down->head("k"));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::unavailable);
  EXPECT_NE(failed.error().message.find("3 attempts"), std::string::npos) << failed.error().message;
}

TEST(S3Url, Parses) {
  auto l = parse_s3_url("s3://bucket?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-west-1");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->bucket, "bucket");
  EXPECT_EQ(l->endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(l->region, "eu-west-1");
  EXPECT_TRUE(parse_s3_url("s3://bucket?endpoint=http://h:1"));
  EXPECT_FALSE(parse_s3_url("s3://?endpoint=http://h:1"));
  EXPECT_FALSE(parse_s3_url("s3://b"));
  // The bucket goes into every request path as it is: the bucket rule applies.
  for (const char* bad : {"s3://..?endpoint=http://h:1", "s3://.?endpoint=http://h:1",
                          "s3://%2e%2e?endpoint=http://h:1", "s3://.tmp?endpoint=http://h:1",
                          "s3://a..b?endpoint=http://h:1", "s3://Bucket?endpoint=http://h:1",
                          "s3://b%5c..?endpoint=http://h:1"}) {
    auto refused = parse_s3_url(bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_NE(refused.error().message.find("bucket name"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace stoa::objects
