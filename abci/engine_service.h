// The gRPC ABCI service of one consensus-engine line, built from a table of
// what differs between lines: the service name, the ABCI versions its
// engines announce, and its methods, each bound to the message types of that
// line. Three tables exist (abci/engine_apis.cc):
//
//   tendermint.abci.ABCI             CometBFT v0.38 (ABCI 2.0)
//   tendermint.abci.ABCIApplication  Tendermint v0.34 and CometBFT v0.37
//   cometbft.abci.v1.ABCIService     CometBFT v1.0 (ABCI 2.1)
//
// Every method's handler is written once (abci/engine_handlers.h), generic
// over the message types, and delegates to the shared Responder; so a new
// engine line is a new table, never a copy of the service. Every method
// answers; a gRPC error is returned only where the engine must stop (a
// failed durable write).
//
// Thread safety: an EngineService is immutable once built; gRPC may call
// its methods from any number of threads at once, and the Responder
// serializes what must not overlap.
#ifndef ABCI_ENGINE_SERVICE_H_
#define ABCI_ENGINE_SERVICE_H_

#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/impl/service_type.h>

#include <functional>
#include <string>
#include <vector>

#include "abci/responder.h"

namespace abci {

class EngineService;

// One unary method of an engine line's service.
struct EngineMethod {
  std::string name;  // as in the method path, e.g. "FinalizeBlock"
  // Makes gRPC's handler for the method on `service` (gRPC owns it).
  std::function<grpc::internal::MethodHandler*(EngineService* service)> make_handler;
};

// What differs between the engine lines' ABCI services.
struct EngineApi {
  std::string service;  // full gRPC service name, e.g. "tendermint.abci.ABCI"
  // What the service serves, for the log: e.g. "ABCI 2.0 (CometBFT v0.38)".
  std::string serves;
  // Prefixes of the ABCI versions its engines announce in Info; another
  // announced version is logged as a warning (the engine would call methods
  // it lacks). An engine that announces none is not warned about.
  std::vector<std::string> abci_versions;
  std::vector<EngineMethod> methods;
};

// The tables of the engine lines ledgerd serves; each lives as long as the
// program.
const EngineApi& CometBft038Api();    // tendermint.abci.ABCI
const EngineApi& Tendermint034Api();  // tendermint.abci.ABCIApplication (also CometBFT v0.37)
const EngineApi& CometBft1Api();      // cometbft.abci.v1.ABCIService

class EngineService final : public grpc::Service {
 public:
  // Serves every method of `api` (which must outlive the service) at
  // "/<api.service>/<method>", answering through `responder` (which must
  // outlive the service too).
  EngineService(const EngineApi& api, Responder* responder);

  // The table the service was built from.
  const EngineApi& api() const { return api_; }

  // Where every method's answer comes from.
  Responder& responder() const { return *responder_; }

 private:
  const EngineApi& api_;
  Responder* const responder_;
  // The method paths; gRPC keeps pointers into them while the service lives.
  std::vector<std::string> method_paths_;
};

}  // namespace abci

#endif  // ABCI_ENGINE_SERVICE_H_
