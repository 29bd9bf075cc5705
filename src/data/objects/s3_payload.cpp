#include "data/objects/s3_payload.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <functional>

#include "data/objects/sigv4.h"
#include "runtime/base64.h"
#include "runtime/digest.h"
#include "runtime/hex.h"

namespace stoa::objects::s3 {

namespace {

constexpr std::size_t kMaxChunkLine = 4096;
constexpr std::size_t kMaxTrailerBytes = 16 * 1024;

Error failed(const Failure& failure, S3Error error) {
  std::string message = error.message;
  *failure = std::move(error);
  return Error{Errc::protocol, message};
}

S3Error incomplete_body(std::string why) {
  return {400, "IncompleteBody", "The request body is malformed or incomplete: " + why};
}

// Hashes what passes through and compares at the end with the declared SHA-256.
class Sha256Check final : public ByteSource {
 public:
  Sha256Check(ByteSource& inner, std::string expected_hex, Failure failure)
      : inner_(inner), expected_(std::move(expected_hex)), failure_(std::move(failure)) {}
  Awaitable<Result<std::size_t>> read(std::span<char> out) override {
    Result<std::size_t> n = co_await inner_.read(out);
    if (!n) co_return n;
    if (*n > 0) {
      hasher_.update(std::string_view(out.data(), *n));
      co_return n;
    }
    if (to_hex(hasher_.finish()) != expected_) {
      co_return failed(failure_, {400, "XAmzContentSHA256Mismatch",
                                  "The provided 'x-amz-content-sha256' header does not match what "
                                  "was computed."});
    }
    co_return std::size_t{0};
  }

 private:
  ByteSource& inner_;
  std::string expected_;
  Failure failure_;
  Hasher hasher_{Hasher::Kind::sha256};
};

// Decodes Content-Encoding: aws-chunked. Chunks are "<hex size>[;chunk-signature=<sig>]\r\n
// <data>\r\n", ending with a zero-size chunk, then (with a trailer) "name:value\r\n" lines
// and an empty line.
class AwsChunked final : public ByteSource {
 public:
  AwsChunked(ByteSource& inner, const Authenticated& auth, bool signed_chunks, bool trailer,
             std::optional<std::uint64_t> decoded_length, Failure failure)
      : inner_(inner),
        auth_(auth),
        signed_(signed_chunks),
        trailer_(trailer),
        decoded_length_(decoded_length),
        previous_signature_(auth.signature),
        failure_(std::move(failure)) {}

  // The trailing headers (lower-case names), once the body was read to the end.
  const std::vector<std::pair<std::string, std::string>>& trailers() const { return trailers_; }

  Awaitable<Result<std::size_t>> read(std::span<char> out) override {
    for (;;) {
      if (done_) co_return std::size_t{0};
      if (remaining_ > 0) {
        std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), remaining_));
        Result<std::size_t> n = co_await take(out.data(), want);
        if (!n) co_return n;
        if (*n == 0) co_return failed(failure_, incomplete_body("a chunk ends early"));
        if (signed_) chunk_hasher_.update(std::string_view(out.data(), *n));
        remaining_ -= *n;
        total_ += *n;
        if (remaining_ == 0) {
          Status s = co_await finish_chunk();
          if (!s) co_return s.error();
        }
        co_return *n;
      }
      Status s = co_await next_chunk();
      if (!s) co_return s.error();
    }
  }

 private:
  // Reads a chunk header; a zero-size chunk ends the body.
  Awaitable<Status> next_chunk() {
    Result<std::string> line = co_await read_line(kMaxChunkLine);
    if (!line) co_return line.error();
    std::string_view text = *line;
    auto semi = text.find(';');
    std::string_view size_text = text.substr(0, semi);
    std::uint64_t size = 0;
    auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (ec != std::errc() || p != size_text.data() + size_text.size() || size_text.empty()) {
      co_return failed(failure_, incomplete_body("a chunk size is malformed"));
    }
    chunk_signature_.clear();
    if (semi != std::string_view::npos) {
      std::string_view ext = text.substr(semi + 1);
      constexpr std::string_view kSig = "chunk-signature=";
      if (ext.starts_with(kSig)) chunk_signature_ = ext.substr(kSig.size());
    }
    if (signed_ && chunk_signature_.empty()) {
      co_return failed(failure_, incomplete_body("a chunk has no chunk-signature"));
    }
    if (size > 0) {
      remaining_ = size;
      co_return Ok{};
    }
    // The final, empty chunk.
    if (signed_) {
      if (auto s = verify_chunk(""); !s) co_return s;
    }
    if (trailer_) {
      if (auto s = co_await read_trailers(); !s) co_return s;
    } else {
      Result<std::string> end = co_await read_line(kMaxChunkLine);
      if (!end) co_return end.error();
      if (!end->empty()) co_return failed(failure_, incomplete_body("data after the last chunk"));
    }
    if (decoded_length_ && *decoded_length_ != total_) {
      co_return failed(failure_, incomplete_body("x-amz-decoded-content-length is " +
                                                 std::to_string(*decoded_length_) + " but " +
                                                 std::to_string(total_) + " bytes came"));
    }
    done_ = true;
    co_return Ok{};
  }

  Awaitable<Status> finish_chunk() {
    Result<std::string> end = co_await read_line(2);
    if (!end) co_return end.error();
    if (!end->empty())
      co_return failed(failure_, incomplete_body("a chunk is longer than declared"));
    if (signed_) {
      std::string digest = chunk_hasher_.finish();
      chunk_hasher_ = Hasher(Hasher::Kind::sha256);
      co_return verify_chunk_digest(digest);
    }
    co_return Ok{};
  }

  Status verify_chunk(std::string_view data) { return verify_chunk_digest(sha256(data)); }

  Status verify_chunk_digest(const std::string& digest) {
    std::string text = "AWS4-HMAC-SHA256-PAYLOAD\n" + auth_.amz_date + '\n' + auth_.scope + '\n' +
                       previous_signature_ + '\n' + std::string(sigv4::kEmptySha256) + '\n' +
                       to_hex(digest);
    std::string expected = sigv4::signature(auth_.signing_key, text);
    if (!constant_time_equal(expected, chunk_signature_)) {
      return failed(failure_, {403, "SignatureDoesNotMatch",
                               "The chunk signature we calculated does not match the one sent."});
    }
    previous_signature_ = chunk_signature_;
    return Ok{};
  }

  Awaitable<Status> read_trailers() {
    std::string canonical, signature;
    std::size_t bytes = 0;
    for (;;) {
      Result<std::string> line = co_await read_line(kMaxChunkLine);
      if (!line) co_return line.error();
      bytes += line->size();
      if (bytes > kMaxTrailerBytes)
        co_return failed(failure_, incomplete_body("trailer too large"));
      if (line->empty()) break;
      auto colon = line->find(':');
      if (colon == std::string::npos)
        co_return failed(failure_, incomplete_body("malformed trailer"));
      std::string name = line->substr(0, colon), value = line->substr(colon + 1);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\r')) value.pop_back();
      if (name == "x-amz-trailer-signature") {
        signature = value;
        continue;
      }
      canonical += name + ':' + value + '\n';
      trailers_.emplace_back(std::move(name), std::move(value));
    }
    if (signed_) {
      std::string expected = sigv4::trailer_signature(auth_.signing_key, auth_.amz_date,
                                                      auth_.scope, previous_signature_, canonical);
      if (!constant_time_equal(expected, signature)) {
        co_return failed(failure_, {403, "SignatureDoesNotMatch",
                                    "The trailer signature we calculated does not match."});
      }
    }
    co_return Ok{};
  }

  // A line ending in CRLF, without it.
  Awaitable<Result<std::string>> read_line(std::size_t max) {
    std::string line;
    for (;;) {
      if (pos_ == buffer_.size()) {
        bool more = co_await fill();
        if (!more)
          co_return failed(failure_, incomplete_body("the body ends inside a chunk header"));
      }
      char c = buffer_[pos_++];
      if (c == '\n') {
        if (line.empty() || line.back() != '\r') {
          co_return failed(failure_, incomplete_body("a line does not end in CRLF"));
        }
        line.pop_back();
        co_return line;
      }
      line += c;
      if (line.size() > max + 1)
        co_return failed(failure_, incomplete_body("a chunk line is too long"));
    }
  }

  // Data bytes from the buffer, refilling it when empty.
  Awaitable<Result<std::size_t>> take(char* out, std::size_t want) {
    if (pos_ == buffer_.size()) {
      bool more = co_await fill();
      if (!more) co_return std::size_t{0};
    }
    std::size_t n = std::min(want, buffer_.size() - pos_);
    std::memcpy(out, buffer_.data() + pos_, n);
    pos_ += n;
    co_return n;
  }

  Awaitable<bool> fill() {
    buffer_.resize(64 * 1024);
    pos_ = 0;
    Result<std::size_t> n = co_await inner_.read(buffer_);
    if (!n || *n == 0) {
      buffer_.clear();
      co_return false;
    }
    buffer_.resize(*n);
    co_return true;
  }

  ByteSource& inner_;
  const Authenticated& auth_;
  bool signed_;
  bool trailer_;
  std::optional<std::uint64_t> decoded_length_;
  std::string previous_signature_;
  Failure failure_;
  std::string buffer_;
  std::size_t pos_ = 0;
  std::uint64_t remaining_ = 0;
  std::uint64_t total_ = 0;
  bool done_ = false;
  std::string chunk_signature_;
  Hasher chunk_hasher_{Hasher::Kind::sha256};
  std::vector<std::pair<std::string, std::string>> trailers_;
};

// Computes one flexible checksum over the body and compares it at the end with the value
// from a header, or from the aws-chunked trailer (`expected` is asked only then).
class ChecksumCheck final : public ByteSource {
 public:
  ChecksumCheck(ByteSource& inner, std::string algorithm,
                std::function<std::optional<std::string>()> expected, Failure failure)
      : inner_(inner),
        algorithm_(std::move(algorithm)),
        expected_(std::move(expected)),
        failure_(std::move(failure)) {
    if (algorithm_ == "sha1") hasher_.emplace(Hasher::Kind::sha1);
    if (algorithm_ == "sha256") hasher_.emplace(Hasher::Kind::sha256);
  }
  Awaitable<Result<std::size_t>> read(std::span<char> out) override {
    Result<std::size_t> n = co_await inner_.read(out);
    if (!n) co_return n;
    std::string_view bytes(out.data(), *n);
    if (*n > 0) {
      if (hasher_)
        hasher_->update(bytes);
      else if (algorithm_ == "crc32")
        crc_ = crc32(bytes, static_cast<std::uint32_t>(crc_));
      else if (algorithm_ == "crc32c")
        crc_ = crc32c(bytes, static_cast<std::uint32_t>(crc_));
      else
        crc_ = crc64nvme(bytes, crc_);
      co_return n;
    }
    std::string actual = hasher_                     ? base64::encode(hasher_->finish())
                         : algorithm_ == "crc64nvme" ? base64::encode(big_endian(crc_, 8))
                                                     : base64::encode(big_endian(crc_, 4));
    auto expected = expected_();
    if (!expected) {
      co_return failed(failure_, invalid_request("The x-amz-checksum-" + algorithm_ +
                                                 " trailer was declared but not sent."));
    }
    if (*expected != actual) {
      co_return failed(failure_, {400, "BadDigest",
                                  "The " + algorithm_ +
                                      " you specified did not match the "
                                      "calculated checksum."});
    }
    co_return std::size_t{0};
  }

 private:
  ByteSource& inner_;
  std::string algorithm_;
  std::function<std::optional<std::string>()> expected_;
  Failure failure_;
  std::optional<Hasher> hasher_;
  std::uint64_t crc_ = 0;
};

// The connection's body as a ByteSource; its errors become the S3 errors a client expects.
class StreamedRequestBody final : public ByteSource {
 public:
  StreamedRequestBody(http::RequestBody& body, Failure failure)
      : body_(body), failure_(std::move(failure)) {}
  Awaitable<Result<std::size_t>> read(std::span<char> out) override {
    Result<std::size_t> n = co_await body_.read(out);
    if (n) co_return n;
    switch (n.error().code) {
      case Errc::too_large:
        co_return failed(failure_, entity_too_large(body_.limit()));
      case Errc::timeout:
        co_return failed(failure_,
                         {400, "RequestTimeout",
                          "Your socket connection to the server was not read from or written to "
                          "within the timeout period."});
      default:
        co_return failed(failure_, incomplete_body(n.error().message));
    }
  }

 private:
  http::RequestBody& body_;
  Failure failure_;
};

// Owns a chain of sources; reads from the last.
class Chain final : public ByteSource {
 public:
  void add(std::unique_ptr<ByteSource> source) { links_.push_back(std::move(source)); }
  ByteSource& last() { return *links_.back(); }
  Awaitable<Result<std::size_t>> read(std::span<char> out) override {
    return links_.back()->read(out);
  }

 private:
  std::vector<std::unique_ptr<ByteSource>> links_;
};

bool known_checksum(std::string_view algorithm) {
  return algorithm == "crc32" || algorithm == "crc32c" || algorithm == "crc64nvme" ||
         algorithm == "sha1" || algorithm == "sha256";
}

}  // namespace

std::variant<std::unique_ptr<ByteSource>, S3Error> payload_source(const http::Request& request,
                                                                  const Authenticated& auth,
                                                                  ByteSource& base,
                                                                  const Failure& failure) {
  auto chain = std::make_unique<Chain>();
  const std::string& hash = auth.payload_hash;
  AwsChunked* chunked = nullptr;
  ByteSource* current = &base;
  if (hash.starts_with("STREAMING-")) {
    bool signed_chunks = hash == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" ||
                         hash == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
    bool trailer = hash.ends_with("-TRAILER");
    if (!signed_chunks && hash != "STREAMING-UNSIGNED-PAYLOAD-TRAILER") {
      return S3Error{400, "InvalidArgument", "x-amz-content-sha256 " + hash + " is not supported"};
    }
    std::optional<std::uint64_t> decoded;
    if (auto d = request.headers.get("x-amz-decoded-content-length")) {
      std::uint64_t v = 0;
      auto [p, ec] = std::from_chars(d->data(), d->data() + d->size(), v);
      if (ec != std::errc() || p != d->data() + d->size()) {
        return invalid_argument("x-amz-decoded-content-length is not a number");
      }
      decoded = v;
    }
    auto source =
        std::make_unique<AwsChunked>(base, auth, signed_chunks, trailer, decoded, failure);
    chunked = source.get();
    chain->add(std::move(source));
    current = &chain->last();
  } else if (hash.size() == 64 && from_hex(hash)) {
    chain->add(std::make_unique<Sha256Check>(base, hash, failure));
    current = &chain->last();
  } else if (hash != sigv4::kUnsignedPayload) {
    return S3Error{400, "InvalidArgument",
                   "x-amz-content-sha256 must be a SHA-256 in hex, "
                   "UNSIGNED-PAYLOAD or a STREAMING- value"};
  }

  // A flexible checksum in a header, or announced for the trailer.
  for (const auto& [name, value] : request.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (!lower.starts_with("x-amz-checksum-") || lower == "x-amz-checksum-type" ||
        lower == "x-amz-checksum-mode") {
      continue;
    }
    std::string algorithm = lower.substr(15);
    if (!known_checksum(algorithm)) return invalid_request("Unknown checksum " + lower);
    std::string expected = value;
    chain->add(std::make_unique<ChecksumCheck>(
        *current, algorithm, [expected] { return std::optional(expected); }, failure));
    current = &chain->last();
  }
  if (auto trailer = request.headers.get("x-amz-trailer")) {
    std::string lower(*trailer);
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (!lower.starts_with("x-amz-checksum-") || !known_checksum(lower.substr(15))) {
      return invalid_request("x-amz-trailer " + lower + " is not supported");
    }
    if (chunked == nullptr) return invalid_request("x-amz-trailer needs an aws-chunked body");
    chain->add(std::make_unique<ChecksumCheck>(
        *current, lower.substr(15),
        [chunked, lower]() -> std::optional<std::string> {
          for (const auto& [n, v] : chunked->trailers()) {
            if (n == lower) return v;
          }
          return std::nullopt;
        },
        failure));
    current = &chain->last();
  }
  if (current == &base) {
    // Nothing to check: the base itself, behind the chain's interface.
    struct Pass final : ByteSource {
      explicit Pass(ByteSource& b) : inner(b) {}
      Awaitable<Result<std::size_t>> read(std::span<char> out) override { return inner.read(out); }
      ByteSource& inner;
    };
    chain->add(std::make_unique<Pass>(base));
  }
  return std::unique_ptr<ByteSource>(std::move(chain));
}

std::unique_ptr<ByteSource> request_body(http::Request& request, const Failure& failure) {
  if (request.body_stream != nullptr) {
    return std::make_unique<StreamedRequestBody>(*request.body_stream, failure);
  }
  return std::make_unique<StringSource>(StringSource::view(request.body));
}

}  // namespace stoa::objects::s3
