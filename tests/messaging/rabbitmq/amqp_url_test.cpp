// amqp:// URLs: what the RabbitMQ adapter connects to, and clear refusals of what it cannot.
#include "messaging/rabbitmq/amqp_url.h"

#include <gtest/gtest.h>

namespace stoa::messaging::rabbitmq {
namespace {

TEST(AmqpUrl, FullForm) {
  auto url = parse_amqp_url("amqp://stoa:p%40ss@mq.internal:5673/prod%2Fevents?namespace=shop_1");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->host, "mq.internal");
  EXPECT_EQ(url->port, 5673);
  EXPECT_EQ(url->user, "stoa");
  EXPECT_EQ(url->password, "p@ss");
  EXPECT_EQ(url->vhost, "prod/events");
  EXPECT_EQ(url->ns, "shop_1");
}

TEST(AmqpUrl, Defaults) {
  auto url = parse_amqp_url("amqp://127.0.0.1");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->port, 5672);
  EXPECT_EQ(url->user, "guest");
  EXPECT_EQ(url->password, "guest");
  EXPECT_EQ(url->vhost, "/");
  EXPECT_EQ(url->ns, "stoa");
  EXPECT_EQ(parse_amqp_url("amqp://h/%2f")->vhost, "/");
}

TEST(AmqpUrl, RefusesWhatItCannotUseWithoutLeakingThePassword) {
  for (const char* bad :
       {"amqp://", "amqp://u:secret@host:0/", "amqp://u:secret@host:99999/",
        "amqp://u:secret@host:12ab/", "amqp://u:secret@host/%zz", "amqp://u:secret@host/?ttl=1",
        "amqp://u:secret@host/?namespace=", "amqp://u:secret@host/?namespace=a.b",
        "amqps://u:secret@host/", "http://u:secret@host/", "amqp://u:secret@[::1]:5672/"}) {
    auto url = parse_amqp_url(bad);
    ASSERT_FALSE(url) << bad;
    EXPECT_EQ(url.error().code, Errc::invalid_argument) << bad;
    EXPECT_EQ(url.error().message.find("secret"), std::string::npos) << url.error().message;
  }
  EXPECT_NE(parse_amqp_url("amqps://h/").error().message.find("not supported"), std::string::npos);
}

}  // namespace
}  // namespace stoa::messaging::rabbitmq
