// What every engine client in these tests shares, whichever engine line it
// plays: how it dials ledgerd, how a call is bounded and checked, and the
// stand-in values for block fields the engine fills and ledgerd ignores.
#ifndef TESTS_E2E_ENGINE_CALLS_H_
#define TESTS_E2E_ENGINE_CALLS_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "google/protobuf/timestamp.pb.h"

namespace ledgerd_e2e {

// Bounds every call so that a broken server fails the test instead of
// hanging it; far above what any call here needs.
inline constexpr std::chrono::seconds kCallDeadline(60);

// A channel to 127.0.0.1:`port` with a connection of its own (the engines
// dial each of their four clients separately), grpc-go's default 4 MiB
// receive limit (which the engines keep, so bigger responses must fail here
// too), and quick reconnects once the server appears.
std::shared_ptr<grpc::Channel> DialEngineConnection(int port);

// A client context that waits for the server to be ready (as the engines'
// clients do) until kCallDeadline.
std::unique_ptr<grpc::ClientContext> EngineCallContext();

// Records a test failure naming `method` unless `status` is OK.
void ExpectOk(const grpc::Status& status, const char* method);

// A block time for `height`.
void SetBlockTime(int64_t height, google::protobuf::Timestamp* time);

// A 32-byte stand-in for a hash the engine computes, distinct per height.
std::string FakeHash(int64_t height);

// A 20-byte stand-in for the proposer's address.
std::string FakeProposerAddress();

}  // namespace ledgerd_e2e

#endif  // TESTS_E2E_ENGINE_CALLS_H_
