#include "runtime/http/filter.h"

#include <utility>

namespace stoa::http {

Awaitable<Verdict> Filter::on_request(Request&) {
  co_return kContinue;
}

void Filter::on_response(const Request&, Response&) {}

namespace {

class FunctionFactory final : public FilterFactory {
 public:
  explicit FunctionFactory(std::function<std::unique_ptr<Filter>()> make)
      : make_(std::move(make)) {}
  std::unique_ptr<Filter> create() const override { return make_(); }

 private:
  std::function<std::unique_ptr<Filter>()> make_;
};

}  // namespace

std::shared_ptr<const FilterFactory> filter_factory(std::function<std::unique_ptr<Filter>()> make) {
  return std::make_shared<FunctionFactory>(std::move(make));
}

}  // namespace stoa::http
