#pragma once
// CRC-32C (Castagnoli), the checksum of the embedded log's records: it catches torn and
// corrupted records (the polynomial iSCSI, ext4 and Kafka use for the same purpose).
#include <cstdint>
#include <string_view>

namespace stoa::messaging::embedded {

std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc = 0);

}  // namespace stoa::messaging::embedded
