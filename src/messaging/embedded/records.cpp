#include "messaging/embedded/records.h"

namespace stoa::messaging::embedded {

namespace {

void put64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put(std::string& out, std::string_view s) {
  put32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

// Bounded reads: a field past the end fails the whole record.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u64(std::uint64_t& v) {
    if (in_.size() < 8) return false;
    v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in_[i]);
    in_.remove_prefix(8);
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (in_.size() < 4) return false;
    v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in_[i]);
    in_.remove_prefix(4);
    return true;
  }
  bool str(std::string& s) {
    std::uint32_t n = 0;
    if (!u32(n) || in_.size() < n) return false;
    s.assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace

Record publish_record(std::uint64_t seq, std::string topic, std::string envelope) {
  Record r;
  r.type = RecordType::publish;
  r.seq = seq;
  r.name = std::move(topic);
  r.envelope = std::move(envelope);
  return r;
}

Record group_record(std::string group, std::uint64_t start_seq, std::vector<std::string> topics) {
  Record r;
  r.type = RecordType::group;
  r.seq = start_seq;
  r.name = std::move(group);
  r.topics = std::move(topics);
  return r;
}

Record ack_record(std::string group, std::uint64_t seq) {
  Record r;
  r.type = RecordType::ack;
  r.seq = seq;
  r.name = std::move(group);
  return r;
}

Record replay_record(std::string group, std::uint64_t seq) {
  Record r = ack_record(std::move(group), seq);
  r.type = RecordType::replay;
  return r;
}

Record retry_record(std::string group, std::uint64_t seq, std::uint32_t attempts,
                    std::int64_t not_before_ms) {
  Record r = ack_record(std::move(group), seq);
  r.type = RecordType::retry;
  r.attempts = attempts;
  r.time_ms = not_before_ms;
  return r;
}

Record dead_record(std::string group, std::uint64_t seq, std::uint32_t attempts,
                   std::int64_t time_ms, std::string reason) {
  Record r = retry_record(std::move(group), seq, attempts, time_ms);
  r.type = RecordType::dead;
  r.reason = std::move(reason);
  return r;
}

std::string encode(const Record& r) {
  std::string out;
  switch (r.type) {
    case RecordType::publish:
      out.reserve(r.envelope.size() + r.name.size() + 16);
      put64(out, r.seq);
      put(out, r.name);
      put(out, r.envelope);
      break;
    case RecordType::group:
      put(out, r.name);
      put64(out, r.seq);
      put32(out, static_cast<std::uint32_t>(r.topics.size()));
      for (const auto& t : r.topics) put(out, t);
      break;
    case RecordType::ack:
    case RecordType::replay:
      put(out, r.name);
      put64(out, r.seq);
      break;
    case RecordType::retry:
      put(out, r.name);
      put64(out, r.seq);
      put32(out, r.attempts);
      put64(out, static_cast<std::uint64_t>(r.time_ms));
      break;
    case RecordType::dead:
      put(out, r.name);
      put64(out, r.seq);
      put32(out, r.attempts);
      put64(out, static_cast<std::uint64_t>(r.time_ms));
      put(out, r.reason);
      break;
  }
  return out;
}

std::optional<Record> decode(std::uint8_t type, std::string_view payload) {
  Record r;
  Reader in(payload);
  std::uint64_t time = 0;
  bool ok = false;
  switch (type) {
    case static_cast<std::uint8_t>(RecordType::publish):
      ok = in.u64(r.seq) && in.str(r.name) && in.str(r.envelope);
      break;
    case static_cast<std::uint8_t>(RecordType::group): {
      std::uint32_t n = 0;
      ok = in.str(r.name) && in.u64(r.seq) && in.u32(n) && n <= 4096;
      for (std::uint32_t i = 0; ok && i < n; ++i) ok = in.str(r.topics.emplace_back());
      break;
    }
    case static_cast<std::uint8_t>(RecordType::ack):
    case static_cast<std::uint8_t>(RecordType::replay):
      ok = in.str(r.name) && in.u64(r.seq);
      break;
    case static_cast<std::uint8_t>(RecordType::retry):
      ok = in.str(r.name) && in.u64(r.seq) && in.u32(r.attempts) && in.u64(time);
      break;
    case static_cast<std::uint8_t>(RecordType::dead):
      ok =
          in.str(r.name) && in.u64(r.seq) && in.u32(r.attempts) && in.u64(time) && in.str(r.reason);
      break;
    default:
      return std::nullopt;
  }
  if (!ok || !in.done()) return std::nullopt;
  r.type = static_cast<RecordType>(type);
  r.time_ms = static_cast<std::int64_t>(time);
  return r;
}

}  // namespace stoa::messaging::embedded
