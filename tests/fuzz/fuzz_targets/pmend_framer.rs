//! The PyMiner `PMEND` framer: arbitrary bytes fed in arbitrary pieces.
//!
//! Checks beyond "no panic": the frames found do not depend on how the stream was cut,
//! and a JSON value framed by `encode` comes back as exactly that one frame.
#![no_main]

use labsocket::pyjson;
use labsocket::pyminer::framing::{encode, FrameDecoder, TooLarge};
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 4096;

/// Every frame of `stream` fed in pieces of the sizes `cuts` cycles through, and whether
/// the decoder gave up (frame too large).
fn frames(stream: &[u8], cuts: &[u8]) -> (Vec<Vec<u8>>, bool) {
    let mut decoder = FrameDecoder::new(LIMIT);
    let mut found = Vec::new();
    let mut rest = stream;
    let mut sizes = cuts.iter().cycle().map(|size| usize::from(*size).max(1));
    while !rest.is_empty() {
        let size = if cuts.is_empty() {
            rest.len()
        } else {
            sizes.next().unwrap_or(1)
        };
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        decoder.extend(piece);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => found.push(frame.to_vec()),
                Ok(None) => break,
                Err(TooLarge { limit }) => {
                    assert_eq!(limit, LIMIT);
                    return (found, true);
                }
            }
        }
    }
    if decoder.waiting_at_terminator() {
        if let Ok(frame) = decoder.cut_at_terminator() {
            found.push(frame.to_vec());
        }
    }
    (found, false)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut_count, rest)) = data.split_first() else {
        return;
    };
    let cut_count = usize::from(cut_count % 8).min(rest.len());
    let (cuts, stream) = rest.split_at(cut_count);

    let (whole, whole_gave_up) = frames(stream, &[]);
    let (pieces, pieces_gave_up) = frames(stream, cuts);
    if !whole_gave_up && !pieces_gave_up {
        assert_eq!(whole, pieces, "frames depend on how the stream was cut");
    }
    for frame in &whole {
        assert!(frame.len() <= LIMIT);
    }

    if let Ok(value) = pyjson::parse_bytes(stream) {
        let json = pyjson::to_compact_json(&value);
        let framed = encode(json.clone());
        let mut decoder = FrameDecoder::new(framed.len());
        decoder.extend(&framed);
        let frame = decoder
            .next_frame()
            .expect("within the limit")
            .expect("one frame");
        let back = pyjson::parse_bytes(&frame).expect("an encoded frame is JSON");
        assert_eq!(pyjson::to_compact_json(&back), json);
        assert!(!decoder.has_partial_frame());
    }
});
