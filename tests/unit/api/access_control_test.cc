#include "api/access_control.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/http_router.h"
#include "core/thread_pool.h"

namespace accel {
namespace {

TEST(AccessControlTest, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEquals("secret", ""));
  // A prefix followed by NULs is not equal (the loop pads the shorter one with zeros).
  EXPECT_FALSE(ConstantTimeEquals(std::string("ab\0", 3), "ab"));
}

TEST(AccessControlTest, BearerTokenParsesTheScheme) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer   abc  "), "abc");
  EXPECT_EQ(BearerToken("BEARER abc"), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), "");
  EXPECT_EQ(BearerToken("Bearer"), "");
  EXPECT_EQ(BearerToken("Bearerabc"), "");
  EXPECT_EQ(BearerToken(""), "");
}

TEST(AccessControlTest, NoKeysMeansOpen) {
  AccessPolicy open;
  for (auto level : {AccessLevel::kObservability, AccessLevel::kInference, AccessLevel::kAdmin}) {
    EXPECT_FALSE(open.KeyRequired(level));
    EXPECT_TRUE(open.Check(level, "").ok());
    EXPECT_TRUE(open.Check(level, "anything").ok());
  }
}

TEST(AccessControlTest, ApiKeyGuardsInferenceAndAdminButNotObservability) {
  AccessPolicy p{.api_key = "user"};
  EXPECT_TRUE(p.Check(AccessLevel::kObservability, "").ok());
  EXPECT_EQ(p.Check(AccessLevel::kInference, "").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(p.Check(AccessLevel::kInference, "wrong").code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(p.Check(AccessLevel::kInference, "user").ok());
  // Without an admin key, admin routes follow the inference rule.
  EXPECT_TRUE(p.Check(AccessLevel::kAdmin, "user").ok());
  EXPECT_EQ(p.Check(AccessLevel::kAdmin, "").code(), StatusCode::kUnauthenticated);
}

TEST(AccessControlTest, AdminRoutesRefuseTheInferenceKey) {
  AccessPolicy p{.api_key = "user", .admin_key = "root"};
  EXPECT_EQ(p.Check(AccessLevel::kAdmin, "user").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(p.Check(AccessLevel::kAdmin, "nope").code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(p.Check(AccessLevel::kAdmin, "root").ok());
  // The admin key also works for inference.
  EXPECT_TRUE(p.Check(AccessLevel::kInference, "root").ok());
  // An admin key alone leaves inference open.
  AccessPolicy admin_only{.admin_key = "root"};
  EXPECT_TRUE(admin_only.Check(AccessLevel::kInference, "").ok());
  EXPECT_EQ(admin_only.Check(AccessLevel::kAdmin, "").code(), StatusCode::kUnauthenticated);
}

TEST(AccessControlTest, ClosedObservabilityNeedsAKey) {
  AccessPolicy p{.api_key = "user", .open_observability = false};
  EXPECT_EQ(p.Check(AccessLevel::kObservability, "").code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(p.Check(AccessLevel::kObservability, "user").ok());
}

// Routes a request through a router with one route and returns the answer's status.
struct RouterFixture {
  HttpRouter router;
  AccessPolicy policy;
  std::vector<bool> authorized_seen;

  void AddRoute(const char* method, const char* path, RouteAccess access) {
    router.Add(method, path, access, [this](HttpRequest&& request, HttpResponder respond) {
      authorized_seen.push_back(request.authorized);
      respond(HttpResponse{});
    });
  }
  HttpResponse Send(HttpRequest request) {
    HttpResponse out;
    out.status = -1;
    router.Handle(std::move(request), [&out](HttpResponse r) { out = std::move(r); });
    return out;
  }
  static HttpRequest Post(std::string path, std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest r;
    r.method = "POST";
    r.path = std::move(path);
    r.headers = std::move(headers);
    return r;
  }
};

TEST(HttpRouterAccessTest, HeaderKeysAreCheckedBeforeTheHandler) {
  RouterFixture f;
  f.policy = AccessPolicy{.api_key = "user", .admin_key = "root"};
  f.router.SetAccessPolicy(&f.policy);
  f.AddRoute("POST", "/infer", kInferenceRoute);
  EXPECT_EQ(f.Send(RouterFixture::Post("/infer")).status, 401);
  const HttpResponse refused = f.Send(RouterFixture::Post("/infer", {{"X-API-Key", "wrong"}}));
  EXPECT_EQ(refused.status, 401);
  bool has_challenge = false;
  for (const auto& [name, value] : refused.headers) has_challenge |= name == "WWW-Authenticate";
  EXPECT_TRUE(has_challenge);
  EXPECT_TRUE(f.authorized_seen.empty());
  EXPECT_EQ(f.Send(RouterFixture::Post("/infer", {{"x-api-key", "user"}})).status, 200);
  EXPECT_EQ(f.Send(RouterFixture::Post("/infer", {{"Authorization", "Bearer user"}})).status, 200);
  EXPECT_EQ(f.authorized_seen, (std::vector<bool>{true, true}));
}

TEST(HttpRouterAccessTest, BodyKeyRoutesDeferToTheHandlerOnlyWithoutAHeaderKey) {
  RouterFixture f;
  f.policy = AccessPolicy{.api_key = "user"};
  f.router.SetAccessPolicy(&f.policy);
  f.AddRoute("POST", "/detect", kInferenceBodyKeyRoute);
  EXPECT_EQ(f.Send(RouterFixture::Post("/detect")).status, 200);
  EXPECT_EQ(f.Send(RouterFixture::Post("/detect", {{"X-API-Key", "wrong"}})).status, 401);
  EXPECT_EQ(f.Send(RouterFixture::Post("/detect", {{"X-API-Key", "user"}})).status, 200);
  ASSERT_EQ(f.authorized_seen, (std::vector<bool>{false, true}));
  HttpRequest deferred = RouterFixture::Post("/detect");
  EXPECT_EQ(CheckBodyKey(f.policy, deferred, "").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(CheckBodyKey(f.policy, deferred, "wrong").code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(CheckBodyKey(f.policy, deferred, "user").ok());
  deferred.authorized = true;
  EXPECT_TRUE(CheckBodyKey(f.policy, deferred, "").ok());
}

TEST(HttpRouterAccessTest, StateChangingRoutesRefuseCrossSiteSimpleRequests) {
  RouterFixture f;  // no keys at all: the content-type rule still holds
  f.router.SetAccessPolicy(&f.policy);
  f.AddRoute("POST", "/unload", kStateChangingAdminRoute);
  EXPECT_EQ(f.Send(RouterFixture::Post("/unload")).status, 415);
  EXPECT_EQ(f.Send(RouterFixture::Post("/unload", {{"Content-Type", "text/plain"}})).status, 415);
  EXPECT_EQ(
      f.Send(RouterFixture::Post("/unload", {{"Content-Type", "application/x-www-form-urlencoded"}})).status,
      415);
  EXPECT_EQ(
      f.Send(RouterFixture::Post("/unload", {{"Content-Type", "Application/JSON; charset=utf-8"}})).status,
      200);
  EXPECT_EQ(f.Send(RouterFixture::Post("/unload", {{"X-API-Key", "k"}})).status, 200);
}

TEST(HttpRouterAccessTest, LargeBodiesRunOnTheOffloadPool) {
  RouterFixture f;
  std::thread::id handler_thread;
  f.router.Add("POST", "/big", kInferenceRoute, [&handler_thread](HttpRequest&&, HttpResponder respond) {
    handler_thread = std::this_thread::get_id();
    respond(HttpResponse{});
  });
  int large_status = -1;  // outlives the pool: the offloaded handler answers after Handle() returned
  {
    ThreadPool pool(1);
    f.router.SetOffload(&pool, 100);
    HttpRequest small = RouterFixture::Post("/big");
    small.body = std::string(99, 'x');
    f.Send(std::move(small));
    EXPECT_EQ(handler_thread, std::this_thread::get_id());
    HttpRequest large = RouterFixture::Post("/big");
    large.body = std::string(100, 'x');
    f.router.Handle(std::move(large), [&large_status](HttpResponse r) { large_status = r.status; });
  }  // the pool's destructor runs the queued handler
  EXPECT_NE(handler_thread, std::this_thread::get_id());
  EXPECT_EQ(large_status, 200);
}

}  // namespace
}  // namespace accel
