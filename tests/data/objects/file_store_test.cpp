// The filesystem object store: puts, gets with ranges, listing order, conditional puts,
// multipart uploads, and keys that try to leave the bucket directory.
#include "data/objects/file_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "data/objects/file_layout.h"
#include "runtime/digest.h"
#include "runtime/hex.h"
#include "support/run_sync.h"

namespace stoa::objects {
namespace {

namespace fs = std::filesystem;
using ::stoa::test::run_sync;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "stoa-objects-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = FileStore::open(dir.path() / "objects");
    ASSERT_TRUE(opened) << opened.error().message;
    store = *opened;
    ASSERT_TRUE(store->create_bucket("photos"));
    bucket = store->bucket("photos");
  }

  Result<ObjectInfo> put(const std::string& key, const std::string& body, PutOptions options = {}) {
    StringSource source(body);
    return run_sync(bucket->put(key, source, std::move(options)));
  }

  Result<std::string> get(const std::string& key, std::optional<RangeRequest> range = {}) {
    return run_sync([&]() -> Awaitable<Result<std::string>> {
      auto reader = co_await bucket->get(key, range);
      if (!reader) co_return reader.error();
      co_return co_await read_all(**reader, 1 << 30);
    }());
  }

  std::vector<std::string> keys(ListOptions options, ListResult* out = nullptr) {
    auto result = run_sync(bucket->list(options));
    EXPECT_TRUE(result) << result.error().message;
    std::vector<std::string> names;
    for (const auto& o : result->objects) names.push_back(o.key);
    for (const auto& p : result->common_prefixes) names.push_back("P:" + p);
    if (out) *out = *result;
    return names;
  }

  TempDir dir;
  std::shared_ptr<FileStore> store;
  std::shared_ptr<ObjectStore> bucket;
};

TEST_F(FileStoreTest, PutGetHeadDelete) {
  auto info =
      put("a/b.txt", "hello", {.content_type = "text/plain", .metadata = {{"owner", "ann"}}});
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->size, 5u);
  EXPECT_EQ(info->etag, to_hex(md5("hello")));

  EXPECT_EQ(get("a/b.txt").value(), "hello");
  auto head = run_sync(bucket->head("a/b.txt"));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->content_type, "text/plain");
  EXPECT_EQ(head->metadata.at("owner"), "ann");
  EXPECT_EQ(head->etag, info->etag);

  ASSERT_TRUE(run_sync(bucket->remove("a/b.txt")));
  EXPECT_EQ(get("a/b.txt").error().code, Errc::not_found);
  EXPECT_TRUE(run_sync(bucket->remove("a/b.txt")));  // deleting twice is fine
  // The empty directory of "a/" went with it.
  EXPECT_FALSE(fs::exists(store->bucket_directory("photos").value() / "a.d"));
}

TEST_F(FileStoreTest, OverwriteReplacesWhole) {
  ASSERT_TRUE(put("k", std::string(100000, 'x')));
  ASSERT_TRUE(put("k", "short"));
  EXPECT_EQ(get("k").value(), "short");
}

// Reads remember an object file's description; a new version of the key, or another
// process's file at the same path, must never be described by the old one.
TEST_F(FileStoreTest, ReadsDescribeTheCurrentVersion) {
  ASSERT_TRUE(put("v", "first", {.content_type = "text/plain", .metadata = {{"n", "1"}}}));
  ASSERT_EQ(run_sync(bucket->head("v"))->metadata.at("n"), "1");
  ASSERT_EQ(get("v").value(), "first");
  ASSERT_TRUE(put("v", "second", {.content_type = "text/csv", .metadata = {{"n", "2"}}}));
  auto head = run_sync(bucket->head("v"));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->content_type, "text/csv");
  EXPECT_EQ(head->metadata.at("n"), "2");
  EXPECT_EQ(head->etag, to_hex(md5("second")));
  EXPECT_EQ(get("v").value(), "second");
  ASSERT_TRUE(run_sync(bucket->remove("v")));
  ASSERT_TRUE(put("v", "third!", {.content_type = "text/html"}));
  EXPECT_EQ(run_sync(bucket->head("v"))->content_type, "text/html");
  EXPECT_EQ(get("v").value(), "third!");
  // The same path replaced behind the store's back (as by another process): a copy of
  // another object's file, renamed into place.
  ASSERT_TRUE(put("w", "other", {.content_type = "image/png"}));
  fs::path v_file = store->bucket_directory("photos").value() / *layout::object_path("v");
  fs::path w_file = store->bucket_directory("photos").value() / *layout::object_path("w");
  fs::copy_file(w_file, v_file.string() + ".new");
  fs::rename(v_file.string() + ".new", v_file);
  EXPECT_EQ(run_sync(bucket->head("v"))->content_type, "image/png");
  EXPECT_EQ(get("v").value(), "other");
}

TEST_F(FileStoreTest, EmptyObject) {
  ASSERT_TRUE(put("empty", ""));
  EXPECT_EQ(get("empty").value(), "");
  EXPECT_EQ(run_sync(bucket->head("empty"))->etag, to_hex(md5("")));
}

TEST_F(FileStoreTest, Ranges) {
  ASSERT_TRUE(put("r", "0123456789"));
  EXPECT_EQ(get("r", RangeRequest{.first = 2, .last = 4}).value(), "234");
  EXPECT_EQ(get("r", RangeRequest{.first = 7}).value(), "789");
  EXPECT_EQ(get("r", RangeRequest{.suffix = 3}).value(), "789");
  EXPECT_EQ(get("r", RangeRequest{.suffix = 30}).value(), "0123456789");
  EXPECT_EQ(get("r", RangeRequest{.first = 8, .last = 100}).value(), "89");
  EXPECT_EQ(get("r", RangeRequest{.first = 10}).error().code, Errc::invalid_argument);
  EXPECT_EQ(get("r", RangeRequest{.first = 5, .last = 4}).error().code, Errc::invalid_argument);
}

TEST_F(FileStoreTest, ConditionalPutRefusesExistingKey) {
  ASSERT_TRUE(put("once", "1", {.if_none_match = true}));
  auto second = put("once", "2", {.if_none_match = true});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::conflict);
  EXPECT_EQ(get("once").value(), "1");
}

TEST_F(FileStoreTest, ContentMd5MismatchStoresNothing) {
  auto wrong = put("d", "data", {.content_md5 = md5("other")});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::protocol);
  EXPECT_EQ(get("d").error().code, Errc::not_found);
  EXPECT_TRUE(put("d", "data", {.content_md5 = md5("data")}));
  EXPECT_TRUE(fs::is_empty(store->root() / ".tmp"));
}

TEST_F(FileStoreTest, HostileKeysStayInsideTheBucket) {
  for (std::string key : {"../escape", "../../etc/passwd", "/abs", "a/../../b", ".", "..", "a/./b",
                          "x/..", "%2e%2e/y", "\\..\\z", "%2E%2E/q", "..%2fr", "..%5cs"}) {
    ASSERT_TRUE(put(key, "v")) << key;
    EXPECT_EQ(get(key).value(), "v") << key;
  }
  // Nothing was written outside the bucket's directory.
  std::string inside = store->bucket_directory("photos").value().string() + "/";
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
    if (!entry.is_regular_file()) continue;
    ++files;
    EXPECT_TRUE(fs::canonical(entry.path()).string().starts_with(inside)) << entry.path();
  }
  EXPECT_EQ(files, 14);  // thirteen objects and the bucket's .bucket file
  EXPECT_EQ(put("", "v").error().code, Errc::invalid_argument);
  EXPECT_EQ(put(std::string("a\0b", 3), "v").error().code, Errc::invalid_argument);
  EXPECT_EQ(put("bad\xff", "v").error().code, Errc::invalid_argument);
  // ".." and "../" as overlong UTF-8: not valid UTF-8, so not keys at all.
  EXPECT_EQ(put("\xc0\xae\xc0\xae/x", "v").error().code, Errc::invalid_argument);
  EXPECT_EQ(put("\xc0\xae\xc0\xae\xc0\xafx", "v").error().code, Errc::invalid_argument);
  EXPECT_EQ(put("\xe0\x80\xae\xe0\x80\xae/x", "v").error().code, Errc::invalid_argument);
  EXPECT_EQ(put(std::string(1025, 'k'), "v").error().code, Errc::too_large);
  EXPECT_EQ(put(std::string(300, '%'), "v").error().code, Errc::too_large);  // 900 B encoded
}

TEST_F(FileStoreTest, ListingIsInByteOrderAcrossDirectories) {
  std::vector<std::string> all = {"a",  "a-c", "a/b",   "a/b/c", "a0",  "b",
                                  "a/", "é",   "a/b/d", "z/",    "z/z", "a//x"};
  for (const auto& k : all) ASSERT_TRUE(put(k, k)) << k;
  std::vector<std::string> sorted = all;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(keys({}), sorted);

  // Pagination: every key once, in order, whatever the page size.
  for (std::size_t page : {1u, 2u, 5u}) {
    std::vector<std::string> seen;
    ListOptions options{.max_keys = page};
    for (;;) {
      ListResult r;
      auto names = keys(options, &r);
      seen.insert(seen.end(), names.begin(), names.end());
      if (!r.truncated) break;
      options.start_after = r.next_marker;
    }
    EXPECT_EQ(seen, sorted) << page;
  }
}

TEST_F(FileStoreTest, ListingWithPrefixAndDelimiter) {
  for (std::string k :
       {"docs/a.txt", "docs/b/c.txt", "docs/b/d.txt", "docs/e/f", "docsx", "img/1"}) {
    ASSERT_TRUE(put(k, "v"));
  }
  EXPECT_EQ(keys({.prefix = "docs/"}),
            (std::vector<std::string>{"docs/a.txt", "docs/b/c.txt", "docs/b/d.txt", "docs/e/f"}));
  EXPECT_EQ(keys({.prefix = "docs/", .delimiter = "/"}),
            (std::vector<std::string>{"docs/a.txt", "P:docs/b/", "P:docs/e/"}));
  EXPECT_EQ(keys({.delimiter = "/"}), (std::vector<std::string>{"docsx", "P:docs/", "P:img/"}));
  EXPECT_EQ(keys({.prefix = "doc"}).size(), 5u);
  EXPECT_EQ(keys({.start_after = "docs/b/c.txt"}),
            (std::vector<std::string>{"docs/b/d.txt", "docs/e/f", "docsx", "img/1"}));
  // A common prefix counts against max_keys and pages resume after it.
  ListResult r;
  EXPECT_EQ(keys({.prefix = "docs/", .delimiter = "/", .max_keys = 2}, &r),
            (std::vector<std::string>{"docs/a.txt", "P:docs/b/"}));
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(keys({.prefix = "docs/", .delimiter = "/", .start_after = r.next_marker}),
            (std::vector<std::string>{"P:docs/e/"}));
}

TEST_F(FileStoreTest, Copy) {
  ASSERT_TRUE(put("src", "payload", {.content_type = "text/x", .metadata = {{"m", "1"}}}));
  auto copied = run_sync(bucket->copy("src", "dst", std::nullopt));
  ASSERT_TRUE(copied);
  EXPECT_EQ(get("dst").value(), "payload");
  EXPECT_EQ(copied->content_type, "text/x");
  EXPECT_EQ(copied->metadata.at("m"), "1");
  auto replaced = run_sync(bucket->copy("src", "dst2", PutOptions{.content_type = "a/b"}));
  ASSERT_TRUE(replaced);
  EXPECT_TRUE(replaced->metadata.empty());
  EXPECT_EQ(run_sync(bucket->copy("missing", "x", std::nullopt)).error().code, Errc::not_found);
}

TEST_F(FileStoreTest, MetadataBounds) {
  EXPECT_EQ(put("m", "v", {.metadata = {{"big", std::string(2100, 'v')}}}).error().code,
            Errc::too_large);
  EXPECT_EQ(put("m", "v", {.metadata = {{"Upper", "v"}}}).error().code, Errc::invalid_argument);
  EXPECT_EQ(put("m", "v", {.metadata = {{"x", "a\nb"}}}).error().code, Errc::invalid_argument);
}

TEST_F(FileStoreTest, Buckets) {
  EXPECT_EQ(store->create_bucket("photos").error().code, Errc::conflict);
  EXPECT_FALSE(store->create_bucket("Bad_Name"));
  EXPECT_FALSE(store->create_bucket(".."));
  EXPECT_FALSE(store->create_bucket("192.168.1.1"));
  ASSERT_TRUE(store->create_bucket("other"));
  auto names = store->list_buckets();
  ASSERT_TRUE(names);
  ASSERT_EQ(names->size(), 2u);
  EXPECT_EQ((*names)[0].name, "other");
  ASSERT_TRUE(put("k", "v"));
  EXPECT_EQ(store->delete_bucket("photos").error().code, Errc::conflict);
  ASSERT_TRUE(run_sync(bucket->remove("k")));
  EXPECT_TRUE(store->delete_bucket("photos"));
  EXPECT_EQ(put("k", "v").error().code, Errc::not_found);
}

// Bucket names that are paths: the store itself refuses them in every call, before any file
// is touched, although each names a directory that exists (the parent, the root, the store's
// own .tmp and .uploads, a real bucket through the parent). The S3 endpoint decodes
// "%2e%2e" and friends before they reach the store; their undecoded forms are here too.
TEST_F(FileStoreTest, BadBucketNamesReachNoFile) {
  ASSERT_TRUE(put("inside", "kept"));
  store->set_presign_target({.base_url = "http://127.0.0.1:9000",
                             .region = "us-east-1",
                             .access_key = "k",
                             .secret_key = "s"});
  for (std::string name :
       {"..", ".", ".tmp", ".uploads", "../x", "../objects", "../objects/photos", "..\\x", "\\..",
        "photos/..", "/tmp", "%2e%2e", "%2E%2E", "..%2f", "%5c..", "\xc0\xae\xc0\xae",
        "\xc0\xae\xc0\xae\xc0\xafphotos", "", "Photos"}) {
    SCOPED_TRACE(quote_for_message(name));
    auto bad = store->bucket(name);
    StringSource body("escaped");
    EXPECT_EQ(run_sync(bad->put("escape-probe", body, {})).error().code, Errc::invalid_argument);
    EXPECT_EQ(run_sync(bad->get("inside")).error().code, Errc::invalid_argument);
    EXPECT_EQ(run_sync(bad->head("inside")).error().code, Errc::invalid_argument);
    EXPECT_EQ(run_sync(bad->remove("inside")).error().code, Errc::invalid_argument);
    EXPECT_EQ(run_sync(bad->list({})).error().code, Errc::invalid_argument);
    EXPECT_EQ(run_sync(bad->copy("inside", "escape-probe", std::nullopt)).error().code,
              Errc::invalid_argument);
    EXPECT_EQ(bad->presign("GET", "inside", std::chrono::seconds(60)).error().code,
              Errc::invalid_argument);
    EXPECT_EQ(store->create_bucket(name).error().code, Errc::invalid_argument);
    EXPECT_EQ(store->delete_bucket(name).error().code, Errc::invalid_argument);
    EXPECT_EQ(store->create_upload(name, "escape-probe", {}).error().code, Errc::invalid_argument);
    EXPECT_EQ(store->bucket_directory(name).error().code, Errc::invalid_argument);
    EXPECT_FALSE(store->bucket_exists(name));
  }
  EXPECT_TRUE(bucket->presign("GET", "inside", std::chrono::seconds(60)));
  // The only files are the real bucket's; the store's folders are empty; nothing beside it.
  std::set<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
    if (entry.is_regular_file()) files.insert(fs::relative(entry.path(), dir.path()));
  }
  EXPECT_EQ(files, (std::set<fs::path>{"objects/photos/.bucket", "objects/photos/inside.o"}));
  EXPECT_TRUE(fs::is_empty(store->root() / ".tmp"));
  EXPECT_TRUE(fs::is_empty(store->root() / ".uploads"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
  EXPECT_EQ(get("inside").value(), "kept");
}

// An upload's bucket is read back from its upload.json on completion: a name there that
// breaks the rule (a file edited by hand, or left by an older version) completes nowhere.
TEST_F(FileStoreTest, CompletingAnUploadChecksItsBucketAgain) {
  auto id = store->create_upload("photos", "escape-probe", {});
  ASSERT_TRUE(id);
  StringSource data("data");
  auto part = run_sync(store->upload_part(*id, 1, data, std::nullopt));
  ASSERT_TRUE(part);
  fs::path description = store->root() / ".uploads" / *id / "upload.json";
  std::string text;
  {
    std::ifstream in(description);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  for (std::string name : {"..", ".tmp", "../objects"}) {
    std::string edited = text;
    auto at = edited.find(R"("bucket":"photos")");
    ASSERT_NE(at, std::string::npos) << text;
    edited.replace(at, 17, R"("bucket":")" + name + "\"");
    std::ofstream(description, std::ios::trunc) << edited;
    auto done = run_sync(store->complete_upload(*id, {{1, part->etag}}, 0));
    ASSERT_FALSE(done) << name;
    EXPECT_EQ(done.error().code, Errc::invalid_argument) << name;
  }
  for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("escape-probe")) << entry.path();
  }
}

TEST_F(FileStoreTest, MultipartUpload) {
  auto id = store->create_upload("photos", "big", {.content_type = "video/mp4"});
  ASSERT_TRUE(id);
  std::string a(5 * 1024 * 1024, 'a'), b = "tail";
  auto part = [&](int n, const std::string& data) {
    StringSource source(data);
    return run_sync(store->upload_part(*id, n, source, std::nullopt));
  };
  auto p2 = part(2, b);
  auto p1 = part(1, a);
  ASSERT_TRUE(p1 && p2);
  auto parts = store->list_parts(*id);
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].number, 1);

  auto wrong = run_sync(store->complete_upload(*id, {{1, p1->etag}, {2, "nope"}}, 5 << 20));
  EXPECT_EQ(wrong.error().code, Errc::invalid_argument);
  auto small = run_sync(store->complete_upload(*id, {{2, p2->etag}, {3, "x"}}, 5 << 20));
  EXPECT_FALSE(small);

  auto done = run_sync(store->complete_upload(*id, {{1, p1->etag}, {2, p2->etag}}, 5 << 20));
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->etag, to_hex(md5(md5(a) + md5(b))) + "-2");
  EXPECT_EQ(get("big").value(), a + b);
  EXPECT_EQ(run_sync(bucket->head("big"))->content_type, "video/mp4");
  EXPECT_EQ(store->upload(*id).error().code, Errc::not_found);

  auto aborted = store->create_upload("photos", "gone", {});
  ASSERT_TRUE(aborted);
  ASSERT_TRUE(store->abort_upload(*aborted));
  EXPECT_EQ(store->list_parts(*aborted).error().code, Errc::not_found);
  EXPECT_EQ(store->upload("../../etc").error().code, Errc::not_found);
}

// A put that fails half-way (the body source breaks) leaves neither a partial object nor a
// temporary file behind; the old object stays.
TEST_F(FileStoreTest, FailedPutLeavesOldObject) {
  ASSERT_TRUE(put("k", "old"));
  class Broken final : public ByteSource {
   public:
    Awaitable<Result<std::size_t>> read(std::span<char> out) override {
      if (calls_++ == 0) {
        std::fill(out.begin(), out.begin() + 10, 'x');
        co_return std::size_t{10};
      }
      co_return Error{Errc::io, "connection reset"};
    }
    int calls_ = 0;
  } broken;
  auto r = run_sync(bucket->put("k", broken, {}));
  EXPECT_FALSE(r);
  EXPECT_EQ(get("k").value(), "old");
  EXPECT_TRUE(fs::is_empty(store->root() / ".tmp"));
}

// A temporary file a crashed process left is removed at the next open, once it is stale.
TEST_F(FileStoreTest, StaleTemporariesAreRemovedAtOpen) {
  fs::path stale = store->root() / ".tmp" / "leftover";
  std::ofstream(stale) << "partial";
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(2));
  fs::path fresh = store->root() / ".tmp" / "inflight";
  std::ofstream(fresh) << "partial";
  ASSERT_TRUE(FileStore::open(store->root()));
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));
}

TEST(FileLayout, SegmentsEncodeAndDecode) {
  EXPECT_EQ(layout::encode_segment("a b/..%"), "a%20b%2F..%25");
  EXPECT_EQ(layout::decode_segment("a%20b%2F..%25"), "a b/..%");
  EXPECT_EQ(layout::decode_segment("bad%2"), std::nullopt);
  EXPECT_EQ(layout::object_path("x/../y")->string(), "x.d/...d/y.o");
}

// key_fits answers what object_path would, at each segment's 255-byte limit.
TEST(FileLayout, KeyFitsAgreesWithObjectPath) {
  std::vector<std::string> keys;
  for (std::size_t n : {1u, 84u, 85u, 251u, 252u, 253u, 254u, 300u}) {
    keys.push_back(std::string(n, 'a'));
    keys.push_back(std::string(n, 'a') + "/b");
    keys.push_back("b/" + std::string(n, 'a'));
    keys.push_back(std::string(n / 3, ' ') + "x");
    keys.push_back(std::string(n / 3, '/') + std::string(n, 'z'));
  }
  for (const auto& key : keys) {
    EXPECT_EQ(layout::key_fits(key), static_cast<bool>(layout::object_path(key))) << key.size();
  }
  EXPECT_TRUE(layout::key_fits(std::string(253, 'a')));
  EXPECT_FALSE(layout::key_fits(std::string(254, 'a')));
}

}  // namespace
}  // namespace stoa::objects
