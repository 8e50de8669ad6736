//! Error codes shared by the host, its front ends and plugins: JSON-RPC's standard codes
//! and labsocket's application codes (-32000..-32099 is JSON-RPC's server range).
//!
//! A plugin returns them in a [`crate::CommandError`]; the native front end sends them as
//! the JSON-RPC `code`; clients may match on them. They never change meaning.

/// The request line is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON is not a JSON-RPC request.
pub const INVALID_REQUEST: i64 = -32600;
/// No command of that name is registered.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// The params do not fit the command.
pub const INVALID_PARAMS: i64 = -32602;
/// The host failed while answering.
pub const INTERNAL_ERROR: i64 = -32603;
/// The default code of a plugin's own error ([`crate::CommandError::new`]).
pub const APPLICATION_ERROR: i64 = -32000;
/// A plugin command panicked (the host caught it and kept serving).
pub const PLUGIN_PANICKED: i64 = -32001;
/// A plugin command did not answer within the command timeout.
pub const COMMAND_TIMED_OUT: i64 = -32002;
/// The connection must authenticate first, sent a wrong token, or its role does not allow
/// the command.
pub const AUTH_REQUIRED: i64 = -32003;
/// The named thing (point, push socket, variable) does not exist.
pub const NOT_FOUND: i64 = -32004;
/// The server refused the connection or request for lack of capacity.
pub const BUSY: i64 = -32005;
/// The command belongs to a plugin that failed to load (the message says why).
pub const PLUGIN_UNAVAILABLE: i64 = -32006;
