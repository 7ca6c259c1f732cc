// A small leveled logger: one line per message on stderr, with a UTC
// timestamp, the level and the component ("2025-01-31T12:00:00.123Z INFO
// [abci] committed height 5").
//
// Thread safety: every function may be called from any thread; lines from
// different threads never interleave.
#ifndef NODE_LOG_H_
#define NODE_LOG_H_

#include <optional>
#include <string_view>

namespace node {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// The level named "debug", "info", "warn" or "error"; nullopt otherwise.
std::optional<LogLevel> ParseLogLevel(std::string_view name);

// Lines below `level` are dropped from now on. The default is kInfo.
void SetLogLevel(LogLevel level);

// True when a line at `level` would be written.
bool LogEnabled(LogLevel level);

// Writes one line if `level` is enabled.
void Log(LogLevel level, std::string_view component, std::string_view message);

}  // namespace node

#endif  // NODE_LOG_H_
