#include "abci/engine_service.h"

namespace abci {

EngineService::EngineService(const EngineApi& api, Responder* responder)
    : api_(api), responder_(responder) {
  // Every path is built before gRPC sees one: growing the vector later would
  // move the strings its methods point into.
  method_paths_.reserve(api_.methods.size());
  for (const EngineMethod& method : api_.methods) {
    method_paths_.push_back("/" + api_.service + "/" + method.name);
  }
  for (size_t i = 0; i < api_.methods.size(); ++i) {
    // As the generated services do: unary, synchronous, owned by gRPC.
    AddMethod(new grpc::internal::RpcServiceMethod(method_paths_[i].c_str(),
                                                   grpc::internal::RpcMethod::NORMAL_RPC,
                                                   api_.methods[i].make_handler(this)));
  }
}

}  // namespace abci
