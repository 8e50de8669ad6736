//! The safe layer across the boundary, exercised in-process with a recording host:
//! buffers are freed exactly once, panics become PANIC with their message, errors and
//! results cross as JSON, and the context reaches the host from any thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use labsocket_plugin_api::abi::{status, HostApi, HostCtx, OwnedBuf, StrRef, ABI_VERSION};
use labsocket_plugin_api::{json, plugin, CommandError, Ctx, Level, Value};

static EMITTED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
static POINTS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
static LOGS: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());

fn text(value: StrRef) -> String {
    // SAFETY: the plugin passes strings valid for the duration of the call.
    String::from_utf8(unsafe { value.as_bytes() }.to_vec()).unwrap()
}

unsafe extern "C" fn emit(_: *const HostCtx, topic: StrRef, payload: StrRef) -> u32 {
    EMITTED.lock().unwrap().push((text(topic), text(payload)));
    status::OK
}

unsafe extern "C" fn set_point(_: *const HostCtx, codename: StrRef, point: StrRef) -> u32 {
    POINTS.lock().unwrap().push((text(codename), text(point)));
    status::OK
}

unsafe extern "C" fn log(_: *const HostCtx, level: u32, message: StrRef) {
    LOGS.lock().unwrap().push((level, text(message)));
}

static HOST: HostApi = HostApi {
    struct_size: std::mem::size_of::<HostApi>() as u32,
    abi_version: StrRef::from_static(ABI_VERSION),
    ctx: std::ptr::null(),
    emit,
    set_point,
    log,
    data_dir: StrRef::from_static("/var/lib/labsocket"),
};

fn add(ctx: &Ctx, params: Value) -> Result<Value, CommandError> {
    let a = params[0]
        .as_i64()
        .ok_or_else(|| CommandError::invalid_params("need numbers"))?;
    let b = params[1]
        .as_i64()
        .ok_or_else(|| CommandError::invalid_params("need numbers"))?;
    ctx.emit("sum", &json!({"a": a, "b": b}))
        .map_err(|e| CommandError::new(e.to_string()))?;
    Ok(json!(a + b))
}

fn boom(_: &Ctx, _: Value) -> Result<Value, CommandError> {
    panic!("boom {}", 42)
}

fn from_thread(ctx: &Ctx, _: Value) -> Result<Value, CommandError> {
    let ctx = *ctx;
    std::thread::spawn(move || {
        ctx.set_point("t", json!(1.5), json!(1)).unwrap();
        ctx.log(Level::Warn, "from a plugin thread");
    })
    .join()
    .unwrap();
    Ok(Value::Null)
}

plugin! {
    name: "boundary",
    commands: {
        "b.add" => add: "Adds two numbers",
        "b.boom" => boom: "Panics",
        "b.thread" => from_thread [inline]: "Uses the context from another thread",
    }
}

/// Calls command `index` of [`DESCRIPTOR`] like the host does: (status, reply text).
fn call(index: usize, request: &[u8]) -> (u32, String) {
    assert!(index < DESCRIPTOR.n_commands);
    // SAFETY: index checked against the static table's length.
    let command = unsafe { &*DESCRIPTOR.commands.add(index) };
    let mut reply = OwnedBuf::empty();
    // SAFETY: HOST is 'static, the request outlives the call, reply is a local slot.
    let code = unsafe { (command.handler)(&HOST, request.as_ptr(), request.len(), &mut reply) };
    // SAFETY: the thunk filled `reply` with OwnedBuf::from_vec.
    let text = String::from_utf8(unsafe { reply.as_slice() }.to_vec()).unwrap();
    // SAFETY: released once.
    unsafe { reply.release() };
    (code, text)
}

#[test]
fn descriptor_carries_identity_and_commands() {
    // SAFETY: static strings of this test binary.
    let name = unsafe { DESCRIPTOR.name.as_bytes() };
    assert_eq!(name, b"boundary");
    assert_eq!(DESCRIPTOR.n_commands, 3);
    // SAFETY: as above.
    let version = unsafe { DESCRIPTOR.abi_version.as_bytes() };
    assert_eq!(version, ABI_VERSION.as_bytes());
    assert!(labsocket_plugin_api::compiled_in().any(|d| std::ptr::eq(d, &DESCRIPTOR)));
}

#[test]
fn results_errors_and_bad_requests_cross_as_json() {
    assert_eq!(call(0, b"[2, 3]"), (status::OK, "5".to_owned()));
    assert!(EMITTED
        .lock()
        .unwrap()
        .contains(&("sum".to_owned(), r#"{"a":2,"b":3}"#.to_owned())));
    let (code, error) = call(0, b"[\"x\", 3]");
    assert_eq!(code, status::ERROR);
    let error: Value = serde_json::from_str(&error).unwrap();
    assert_eq!(error, json!({"code": -32602, "message": "need numbers"}));
    let (code, message) = call(0, b"{oops");
    assert_eq!(code, status::BAD_REQUEST);
    assert!(message.contains("params are not JSON"), "{message}");
}

#[test]
fn panics_become_a_status_with_the_message() {
    let (code, message) = call(1, b"null");
    assert_eq!(code, status::PANIC);
    assert_eq!(message, "panicked: boom 42");
}

#[test]
fn context_works_from_plugin_threads() {
    assert_eq!(call(2, b"null").0, status::OK);
    assert!(POINTS
        .lock()
        .unwrap()
        .contains(&("t".to_owned(), "[1.5,1]".to_owned())));
    assert!(LOGS
        .lock()
        .unwrap()
        .contains(&(2, "from a plugin thread".to_owned())));
}

static FREES: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn counting_free(_: *mut u8, _: usize, _: usize) {
    FREES.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn owned_buffers_are_freed_exactly_once() {
    let mut buffer = OwnedBuf {
        ptr: std::ptr::NonNull::dangling().as_ptr(),
        len: 0,
        cap: 0,
        free: Some(counting_free),
    };
    // SAFETY: counting_free ignores its arguments.
    unsafe {
        buffer.release();
        buffer.release();
    }
    assert_eq!(FREES.load(Ordering::SeqCst), 1);
    let mut real = OwnedBuf::from_vec(b"hello".to_vec());
    // SAFETY: made by from_vec, not yet freed.
    assert_eq!(unsafe { real.as_slice() }, b"hello");
    // SAFETY: released once.
    unsafe { real.release() };
    assert!(real.ptr.is_null() && real.free.is_none());
}
