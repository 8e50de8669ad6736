//! Python's `int(s)` and `float(s)` for the `raw_wn` push command, with Python's error
//! messages.
//!
//! `raw_wn#a:int: 007` is accepted by PyExpLabSys because Python's `int()` strips
//! whitespace and allows leading zeros and digit underscores, and a refused value is
//! reported with Python's own exception text (`invalid literal for int() with base 10:
//! 'hh'`). Requests are ASCII, so only ASCII whitespace needs handling: for numbers,
//! CPython strips space, `\t`, `\n`, `\v`, `\f` and `\r` (not `\x1c`-`\x1f`, which
//! `str.isspace()` would accept).

use crate::pyjson::{python_repr, Value};

/// CPython's default `sys.get_int_max_str_digits()`.
const MAX_INT_DIGITS: usize = 4300;

fn is_python_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// Whether `text` is digits with single underscores between them (Python's `digitpart`).
fn is_digit_part(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('_')
        && !text.ends_with('_')
        && !text.contains("__")
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

/// How many characters of the refused text's repr CPython's `int()` error shows
/// (`%.200R`: the repr is cut there, closing quote and all).
const INT_ERROR_REPR_CHARS: usize = 200;

/// `int(text)`: an `Int`, or a `BigInt` beyond 64 bits.
pub fn python_int(text: &str) -> Result<Value, String> {
    let invalid = || {
        let repr = python_repr(&Value::Str(text.to_owned()));
        let shown: String = repr.chars().take(INT_ERROR_REPR_CHARS).collect();
        format!("invalid literal for int() with base 10: {shown}")
    };
    let body = text.trim_matches(is_python_space);
    let (negative, digits) = match body.as_bytes().first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    if !is_digit_part(digits) {
        return Err(invalid());
    }
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.len() > MAX_INT_DIGITS {
        return Err(format!(
            "Exceeds the limit ({MAX_INT_DIGITS} digits) for integer string conversion: value \
             has {} digits; use sys.set_int_max_str_digits() to increase the limit",
            digits.len()
        ));
    }
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Ok(Value::Int(0));
    }
    let signed = if negative {
        format!("-{significant}")
    } else {
        significant.to_owned()
    };
    Ok(signed
        .parse::<i64>()
        .map(Value::Int)
        .unwrap_or(Value::BigInt(signed)))
}

/// `float(text)`.
pub fn python_float(text: &str) -> Result<f64, String> {
    let invalid = || {
        format!(
            "could not convert string to float: {}",
            python_repr(&Value::Str(text.to_owned()))
        )
    };
    let body = text.trim_matches(is_python_space);
    let unsigned = body.strip_prefix(['-', '+']).unwrap_or(body);
    let negative = body.starts_with('-');
    let special = match unsigned.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => Some(f64::INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    };
    if let Some(value) = special {
        return Ok(if negative { -value } else { value });
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            (whole.is_empty() || is_digit_part(whole))
                && (fraction.is_empty() || is_digit_part(fraction))
                && !(whole.is_empty() && fraction.is_empty())
        }
        None => is_digit_part(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|exponent| {
        is_digit_part(exponent.strip_prefix(['-', '+']).unwrap_or(exponent))
    });
    if !mantissa_ok || !exponent_ok {
        return Err(invalid());
    }
    let cleaned: String = body.chars().filter(|c| *c != '_').collect();
    cleaned.parse::<f64>().map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_accepts_what_python_accepts() {
        for (text, value) in [
            ("1", Value::Int(1)),
            (" 007\n", Value::Int(7)),
            ("1_000", Value::Int(1000)),
            ("-0", Value::Int(0)),
            ("+5", Value::Int(5)),
            ("\x0b42\x0c", Value::Int(42)),
            (
                "12345678901234567890",
                Value::BigInt("12345678901234567890".into()),
            ),
            (
                "-0009223372036854775809",
                Value::BigInt("-9223372036854775809".into()),
            ),
        ] {
            assert_eq!(python_int(text), Ok(value), "for {text:?}");
        }
    }

    #[test]
    fn int_refuses_with_pythons_message() {
        assert_eq!(
            python_int("hh").unwrap_err(),
            "invalid literal for int() with base 10: 'hh'"
        );
        for bad in [
            "", " ", "1.0", "1__0", "_1", "1_", "+", "- 1", "0x10", "1e3", "\x1c1",
        ] {
            assert!(python_int(bad).is_err(), "{bad:?} should fail");
        }
        assert_eq!(
            python_int(" x ").unwrap_err(),
            "invalid literal for int() with base 10: ' x '"
        );
        // CPython cuts the repr at 200 characters (`%.200R`), without a closing quote;
        // float() shows it whole (`%R`).
        let long = format!("{}x", "1".repeat(300));
        assert_eq!(
            python_int(&long).unwrap_err(),
            format!(
                "invalid literal for int() with base 10: '{}",
                "1".repeat(199)
            )
        );
        let just_fits = "y".repeat(198);
        assert_eq!(
            python_int(&just_fits).unwrap_err(),
            format!("invalid literal for int() with base 10: '{just_fits}'")
        );
        assert_eq!(
            python_float(&long).unwrap_err(),
            format!("could not convert string to float: '{long}'")
        );
        let long = "1".repeat(4301);
        assert!(python_int(&long)
            .unwrap_err()
            .starts_with("Exceeds the limit (4300 digits)"));
    }

    #[test]
    fn float_accepts_what_python_accepts() {
        for (text, value) in [
            ("1", 1.0),
            (" 1.5 ", 1.5),
            ("1e-5", 1e-5),
            ("1E2", 100.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1_000.25", 1000.25),
            ("-Infinity", f64::NEG_INFINITY),
            ("iNf", f64::INFINITY),
            ("1e400", f64::INFINITY),
            ("+2.5e+3", 2500.0),
            ("1e1_0", 1e10),
        ] {
            assert_eq!(python_float(text), Ok(value), "for {text:?}");
        }
        assert!(python_float("NaN").unwrap().is_nan());
    }

    #[test]
    fn float_refuses_with_pythons_message() {
        assert_eq!(
            python_float("abc").unwrap_err(),
            "could not convert string to float: 'abc'"
        );
        for bad in [
            "", ".", "e5", "1e", "1_.5", "1._5", "1__0", "infinit", "1.5.2", "0x1", "1_e5",
        ] {
            assert!(python_float(bad).is_err(), "{bad:?} should fail");
        }
    }
}
