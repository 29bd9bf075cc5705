#pragma once
// Entity tags (RFC 9110 §8.8.3): `"xyzzy"` (strong) and `W/"xyzzy"` (weak), the lists that
// If-Match and If-None-Match carry, and the two comparison functions of §8.8.3.2. Every
// service that versions a resource answers with these; conditional.h evaluates them.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::http {

struct EntityTag {
  std::string opaque{};  // between the quotes, without them
  bool weak = false;

  friend bool operator==(const EntityTag&, const EntityTag&) = default;
};

// `"opaque"` or `W/"opaque"`. `opaque` must be etagc characters (no '"', no controls or space).
std::string format_entity_tag(const EntityTag& tag);
// The strong tag of `opaque`: `"opaque"`.
std::string strong_etag(std::string_view opaque);

// How strictly a tag is read. Some clients (S3 SDKs, hand-written scripts) send a tag without
// its quotes; `lenient` reads a bare run of etagc characters as that strong tag.
enum class TagSyntax { strict, lenient };

// Exactly one entity-tag, surrounding spaces and tabs ignored.
std::optional<EntityTag> parse_entity_tag(std::string_view text,
                                          TagSyntax syntax = TagSyntax::strict);

// §8.8.3.2: strong comparison needs both tags strong and the opaque tags equal; weak
// comparison needs only the opaque tags equal.
bool strong_compare(const EntityTag& a, const EntityTag& b);
bool weak_compare(const EntityTag& a, const EntityTag& b);

// An If-Match / If-None-Match field value: "*" (any current representation) or a
// comma-separated list of entity-tags, empty elements allowed (§5.6.1).
struct EntityTagList {
  bool any = false;
  std::vector<EntityTag> tags{};
};
// At most this many tags are read from one field: a longer list is refused (nullopt), so a
// client cannot make a server compare a megabyte of tags.
inline constexpr std::size_t kMaxEntityTags = 64;
// nullopt for a malformed value (a bad tag, "*" mixed with tags, an empty field, too many tags).
std::optional<EntityTagList> parse_entity_tag_list(std::string_view text,
                                                   TagSyntax syntax = TagSyntax::strict);
std::string format_entity_tag_list(const EntityTagList& list);

// True when `current` is one of the list's tags by strong (If-Match) or weak (If-None-Match)
// comparison, or when the list is "*".
bool matches_strong(const EntityTagList& list, const EntityTag& current);
bool matches_weak(const EntityTagList& list, const EntityTag& current);

// Resources versioned by a counter carry the counter as their strong tag: `"7"`.
std::string version_etag(std::int64_t version);
// The positive version of a tag `"7"` or `W/"7"` (weakness is dropped: the caller compares
// versions itself); nullopt for anything else.
std::optional<std::int64_t> parse_version_etag(std::string_view text);

}  // namespace stoa::http
