// A normal `stoa up` session leaves every dead-letter queue empty: users register, one asks
// for an export of their data and then deletes their account. The groups user-export and
// user-deletion both read stoa.user and each handles one type of it; every other type they
// receive is skipped, not dead-lettered (docs/messaging.md, "The workers"), so that a dead
// letter always means something failed.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "runtime/uuid.h"
#include "support/raw_http.h"
#include "support/stoa_process.h"
#include "support/test_signing_key.h"

namespace stoa::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace js = boost::json;

constexpr int kUsers = 5;
// What the session puts on stoa.user: a registered.v1 per user, then export_requested.v1,
// deletion_requested.v1 and the deletion handler's deleted.v1. Both groups get them all.
constexpr int kUserEvents = kUsers + 3;
const std::vector<std::string> kGroups = {"user-export", "user-deletion"};

struct Reply {
  int status = 0;
  js::value json;
  std::string text;
};

// One request to the user service on a fresh connection.
Reply call(std::uint16_t port, const std::string& method, const std::string& target,
           const std::string& token = "", const std::string& body = "") {
  std::string request = method + " " + target +
                        " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nConnection: close\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  if (method == "POST") {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  RawConnection connection(port);
  Reply reply;
  if (!connection.send(request)) return reply;
  reply.text = connection.read_until_closed(30s).value_or("");
  reply.status = status_of(reply.text);
  boost::system::error_code ec;
  reply.json = js::parse(body_of(reply.text), ec);
  return reply;
}

// The value of stoa_worker_messages_total for `group` and `outcome` in an exposition.
double worker_messages(const std::string& metrics, const std::string& group,
                       const std::string& outcome) {
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("stoa_worker_messages_total{", 0) != 0) continue;
    if (line.find("messaging_consumer_group_name=\"" + group + "\"") == std::string::npos) continue;
    if (line.find("stoa_outcome=\"" + outcome + "\"") == std::string::npos) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return 0;
}

class NormalRun : public ::testing::Test {
 protected:
  NormalRun() : key_(TestSigningKey::Kind::es256, "normal-run") {
    dir_ = (fs::temp_directory_path() / ("stoa-normal-run-" + Uuid::v7().to_string())).string();
    fs::create_directories(dir_);
    std::ofstream(dir_ + "/jwks.json") << jwks_of({&key_});
    env_ = {{"STOA_DATABASE_URL", "sqlite://" + dir_ + "/stoa.db"},
            {"STOA_BROKER_URL", "embedded://" + dir_ + "/events"},
            {"STOA_JWT_JWKS", dir_ + "/jwks.json"},
            // Cheap hashes: the parameters' own tests are elsewhere.
            {"STOA_USER_PASSWORD_MEMORY_BYTES", "64KiB"},
            {"STOA_USER_PASSWORD_ITERATIONS", "1"}};
  }
  ~NormalRun() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string token(const std::string& subject, const std::vector<std::string>& roles = {}) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    js::array role_array;
    for (const auto& r : roles) role_array.emplace_back(r);
    return key_.sign(js::object{{"iss", "http://127.0.0.1:8100"},
                                {"aud", "stoa"},
                                {"sub", subject},
                                {"iat", now},
                                {"exp", now + 600},
                                {"roles", std::move(role_array)}});
  }

  // Polls until `done` holds or a generous deadline passes.
  static bool eventually(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return done();
  }

  TestSigningKey key_;
  std::string dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(NormalRun, RegistrationsAnExportAndADeletionLeaveTheDeadLetterQueuesEmpty) {
  {
    StoaProcess up({"up"}, env_);
    ASSERT_TRUE(up.wait_ready(60s)) << up.log();
    const auto port = up.user_port;
    ASSERT_TRUE(eventually([&] { return call(port, "GET", "/v1/users/me").status != 0; }));

    std::vector<std::string> ids;
    for (int i = 0; i < kUsers; ++i) {
      const std::string email = "user" + std::to_string(i) + "@example.com";
      auto registered =
          call(port, "POST", "/v1/users", "",
               js::serialize(js::object{
                   {"email", email}, {"password", "correct horse"}, {"display_name", "User"}}));
      ASSERT_EQ(registered.status, 201) << registered.text;
      ids.emplace_back(registered.json.as_object().at("id").as_string());
    }

    const std::string user = token(ids[0]);
    auto exported = call(port, "POST", "/v1/users/me/exports", user);
    ASSERT_EQ(exported.status, 202) << exported.text;
    const std::string export_id(exported.json.as_object().at("id").as_string());
    ASSERT_TRUE(eventually([&] {
      auto r = call(port, "GET", "/v1/users/me/exports/" + export_id, user);
      return r.status == 200 && r.json.as_object().at("status").as_string() == "ready";
    })) << up.log();

    auto deletion = call(port, "POST", "/v1/users/me/deletion", user);
    ASSERT_EQ(deletion.status, 202) << deletion.text;
    const std::string admin = token("00000000-0000-7000-8000-000000000001", {"admin"});
    ASSERT_TRUE(eventually([&] {
      auto r = call(port, "GET", "/v1/users/" + ids[0], admin);
      return r.status == 200 && r.json.as_object().at("status").as_string() == "deleted";
    })) << up.log();

    // Both groups settle every event of the session, whatever the outcome.
    std::string metrics;
    ASSERT_TRUE(eventually([&] {
      metrics = body_of(http_get(up.admin_port, "/metrics"));
      for (const auto& group : kGroups) {
        double settled = 0;
        for (const char* outcome : {"processed", "retried", "dead_lettered", "skipped"}) {
          settled += worker_messages(metrics, group, outcome);
        }
        if (settled < kUserEvents) return false;
      }
      return true;
    })) << metrics;
    for (const auto& group : kGroups) {
      EXPECT_EQ(worker_messages(metrics, group, "processed"), 1) << group;
      EXPECT_EQ(worker_messages(metrics, group, "skipped"), kUserEvents - 1) << group;
      EXPECT_EQ(worker_messages(metrics, group, "dead_lettered"), 0) << group;
    }
    EXPECT_EQ(up.log().find("dead-lettered"), std::string::npos) << up.log();

    up.signal(SIGTERM);
    ASSERT_EQ(up.wait_exit(30s), std::optional<int>(0)) << up.log();
  }
  // The operator's view, once the process no longer holds the embedded broker.
  StoaProcess dlq({"events", "dlq", "list"}, env_);
  EXPECT_EQ(dlq.wait_exit(30s), std::optional<int>(0)) << dlq.log();
  EXPECT_NE(dlq.log().find("no dead letters"), std::string::npos) << dlq.log();
}

}  // namespace
}  // namespace stoa::test
