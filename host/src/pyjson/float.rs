//! CPython's `repr(float)`, byte for byte.
//!
//! Python clients compare and parse the text our replies contain, so floats
//! must be printed the way CPython prints them, and Rust's `Display` does
//! not: it prints `1e16` as `10000000000000000`, `42.0` as `42` and `1e-5`
//! as `0.00001`. CPython (`float_repr_style == 'short'`) prints the
//! shortest digit string that round-trips (David Gay's dtoa, mode 0), then
//! lays it out in scientific notation when the decimal exponent is below -4
//! or at least 16, and positionally (with at least one digit after the
//! point) otherwise.
//!
//! Rust's `{:e}` already yields the shortest round-trip digits (both pick
//! the shortest string that reads back to the same double and, among those,
//! the one closest to the exact value), so the layout is re-done here, plus
//! one fix for exact ties, where the two round the last digit differently
//! (see `round_half_even`).

use std::fmt::{self, Write as _};

/// `repr(f)` as CPython 3.11 prints it: `42.0`, `0.30000000000000004`,
/// `1e-05`, `1e+16`, `-0.0`, `nan`, `inf`, `-inf`.
pub fn float_repr(f: f64) -> String {
    let mut out = String::with_capacity(24);
    write_float_repr(f, &mut out);
    out
}

/// Appends `repr(f)` to `out` without allocating anything else.
pub fn write_float_repr(f: f64, out: &mut String) {
    if f.is_nan() {
        // CPython prints every NaN, whatever its sign bit, as `nan`.
        out.push_str("nan");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "inf" } else { "-inf" });
        return;
    }

    let mut buf = StackBuf::new();
    // `{:e}` gives "-d.ddde-x": at most 17 significant digits, a sign, a
    // point, 'e', an exponent sign and 3 exponent digits, which fits in
    // `StackBuf` (so this write cannot fail).
    let _ = write!(buf, "{f:e}");
    let sci = buf.as_bytes();

    let negative = sci.first() == Some(&b'-');
    let mut digits = [0u8; 20];
    let mut ndigits = 0usize;
    let mut exp: i32 = 0;
    let mut exp_negative = false;
    let mut in_exp = false;
    for &b in &sci[usize::from(negative)..] {
        match b {
            b'e' => in_exp = true,
            b'-' => exp_negative = true,
            b'0'..=b'9' if in_exp => exp = exp * 10 + i32::from(b - b'0'),
            b'0'..=b'9' if ndigits < digits.len() => {
                digits[ndigits] = b;
                ndigits += 1;
            }
            _ => {}
        }
    }
    if exp_negative {
        exp = -exp;
    }
    if ndigits == 0 {
        // Unreachable for a finite float; keeps the code panic-free.
        digits[0] = b'0';
        ndigits = 1;
    }
    ndigits = round_half_even(f, &mut digits[..ndigits], exp);
    let digits = &digits[..ndigits];
    let nd = ndigits as i32;
    // Position of the decimal point relative to the start of the digits,
    // as in CPython's `format_float_short` ("decpt").
    let decpt = exp + 1;

    // Compose on the stack, then append once: at most 25 bytes
    // ("-0.000" + 17 digits, or "-d." + 16 digits + "e-308").
    let mut text = StackBuf::new();
    if negative {
        text.push(b"-");
    }
    if !(-4 < decpt && decpt <= 16) {
        // Scientific: "d[.ddd]e±XX", at least two exponent digits.
        text.push(&digits[..1]);
        if nd > 1 {
            text.push(b".");
            text.push(&digits[1..]);
        }
        text.push(if exp < 0 { b"e-" } else { b"e+" });
        let e = exp.unsigned_abs();
        if e >= 100 {
            text.push(&[b'0' + (e / 100) as u8]);
        }
        text.push(&[b'0' + (e / 10 % 10) as u8, b'0' + (e % 10) as u8]);
    } else if decpt <= 0 {
        // 0.000ddd
        text.push(b"0.");
        text.push(zeros(-decpt));
        text.push(digits);
    } else if decpt < nd {
        // ddd.ddd
        let (int_part, frac_part) = digits.split_at(decpt as usize);
        text.push(int_part);
        text.push(b".");
        text.push(frac_part);
    } else {
        // ddd000.0
        text.push(digits);
        text.push(zeros(decpt - nd));
        text.push(b".0");
    }
    out.push_str(text.as_str());
}

/// Applies CPython's tie-break to Rust's shortest digits and returns the
/// (possibly smaller) digit count.
///
/// Both Rust and CPython pick, among the shortest digit strings that read
/// back as `f`, the one closest to `f`. They differ only when `f` lies
/// exactly halfway between two such candidates: Rust rounds the last digit
/// up, CPython (Gay's dtoa) rounds it to even. Example: 1e15 + 0.25 is
/// `1000000000000000.3` in Rust but `1000000000000000.2` in Python. So when
/// the last digit is odd and `f` is exactly the midpoint below it, step down
/// to the even neighbour (which also reads back as `f`, being just as close).
///
/// `digits` are ASCII, `value = 0.d1d2...dn * 10^(exp + 1)`.
fn round_half_even(f: f64, digits: &mut [u8], exp: i32) -> usize {
    let n = digits.len();
    let Some(&last) = digits.last() else {
        return n;
    };
    if (last - b'0').is_multiple_of(2) {
        return n;
    }
    // The midpoint below the digits is N * 10^q with N = digits*10 - 5
    // (at most 18 digits, fits u64).
    let mut d: u64 = 0;
    for &b in digits.iter() {
        d = d * 10 + u64::from(b - b'0');
    }
    let midpoint = d * 10 - 5;
    let q = exp - n as i32;

    // |f| = m * 2^e exactly.
    let bits = f.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (m, e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    if m == 0 {
        return n;
    }
    let tz = m.trailing_zeros();
    let (odd_m, t) = (m >> tz, e + tz as i32);
    // N is odd, so N * 2^q * 5^q == odd_m * 2^t needs q == t, and then the
    // odd parts must agree.
    if q != t {
        return n;
    }
    let is_tie = if q >= 0 {
        pow5(q as u32)
            .and_then(|p| p.checked_mul(u128::from(midpoint)))
            .is_some_and(|v| v == u128::from(odd_m))
    } else {
        pow5(q.unsigned_abs())
            .and_then(|p| p.checked_mul(u128::from(odd_m)))
            .is_some_and(|v| v == u128::from(midpoint))
    };
    if !is_tie {
        return n;
    }
    digits[n - 1] = last - 1;
    // A trailing zero after the step down is not significant.
    let mut len = n;
    while len > 1 && digits[len - 1] == b'0' {
        len -= 1;
    }
    len
}

fn pow5(k: u32) -> Option<u128> {
    5u128.checked_pow(k)
}

/// `n` zeros for `0 <= n <= 16`, the most any layout above needs.
fn zeros(n: i32) -> &'static [u8] {
    const ZEROS: &[u8] = b"0000000000000000";
    ZEROS.get(..n.max(0) as usize).unwrap_or(ZEROS)
}

/// A fixed-size text buffer, so that formatting a float allocates nothing
/// but the caller's `String` growth. 32 bytes hold any float's `{:e}` and
/// repr forms.
struct StackBuf {
    buf: [u8; 32],
    len: usize,
}

impl StackBuf {
    fn new() -> Self {
        StackBuf {
            buf: [0; 32],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Appends ASCII bytes. Never overflows for the lengths used here; if
    /// it did, the excess would be dropped rather than panic.
    fn push(&mut self, ascii: &[u8]) {
        let end = (self.len + ascii.len()).min(self.buf.len());
        let n = end - self.len;
        self.buf[self.len..end].copy_from_slice(&ascii[..n]);
        self.len = end;
    }

    fn as_str(&self) -> &str {
        // Only ASCII and whole `&str`s are ever copied in.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_from_python() {
        let cases: &[(f64, &str)] = &[
            (42.0, "42.0"),
            (0.0001, "0.0001"),
            (1e15, "1000000000000000.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1795238169.2582886, "1795238169.2582886"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e-5, "1e-05"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (2.5e-300, "2.5e-300"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (-1.5, "-1.5"),
            (123456789012345.6, "123456789012345.6"),
            (9999999999999998.0, "9999999999999998.0"),
            (0.00012345, "0.00012345"),
            (1.2345e-5, "1.2345e-05"),
            (1e100, "1e+100"),
            (-1e-100, "-1e-100"),
            // Exact ties between two shortest candidates: CPython rounds
            // the last digit to even, Rust's `{:e}` rounds up.
            (1e15 + 0.25, "1000000000000000.2"),
            (-1e15 - 0.25, "-1000000000000000.2"),
            (1e15 + 0.75, "1000000000000000.8"),
            (f64::NAN, "nan"),
            (-f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(f, want) in cases {
            assert_eq!(float_repr(f), want, "bits {:#x}", f.to_bits());
        }
    }

    #[test]
    fn writer_appends() {
        let mut s = String::from("x=");
        write_float_repr(2.0, &mut s);
        s.push(',');
        write_float_repr(1e22, &mut s);
        assert_eq!(s, "x=2.0,1e+22");
    }

    #[test]
    fn zeros_is_clamped() {
        assert_eq!(zeros(-1), b"");
        assert_eq!(zeros(3), b"000");
        assert_eq!(zeros(99).len(), 16);
    }

    /// Expectations produced with CPython 3.11 `repr(struct.unpack('<d',
    /// bits)[0])` over random bit patterns, random magnitudes, subnormals
    /// and the layout boundaries (1e-5, 1e-4, 1e15, 1e16).
    #[test]
    fn matches_cpython_table() {
        for &(bits, want) in CPYTHON_FLOAT_REPR {
            let f = f64::from_bits(bits);
            assert_eq!(float_repr(f), want, "bits {bits:#018x}");
        }
    }

    const CPYTHON_FLOAT_REPR: &[(u64, &str)] = &[
        (0xbb91433a6aa79987, "-9.1387497028769e-22"),
        (0xd1f6f86c029a7245, "-7.139820454309632e+86"),
        (0xcd8778e7d340bbcd, "-3.089900467300506e+65"),
        (0xdaea58ba4c73a942, "-9.131299887434701e+129"),
        (0xee8971105e503a67, "-2.942877356480083e+224"),
        (0x452ec40a3193ca54, "1.8596773229471727e+25"),
        (0x6facaa5090e5e945, "8.692067227002291e+229"),
        (0x5f811cb929645f8b, "1.1202983176732331e+152"),
        (0xdfc9e3b11fcff454, "-2.71187804877673e+153"),
        (0x42d6cb5c6ed4e94b, "100250739757989.17"),
        (0xa091250e8fe46024, "-8.183770430730414e-152"),
        (0x9c9cea0c2ca1c789, "-7.481942688750341e-171"),
        (0x2fd2b7a48d9fe5b9, "2.525722336173709e-78"),
        (0xbcf74d7a5adad121, "-5.1742273216317384e-15"),
        (0xbb9d58e4f543bbcf, "-1.5536301412264183e-21"),
        (0x87f26aee175f0cd2, "-2.1789094907487126e-270"),
        (0xbc428d42fa882692, "-2.011390540120253e-18"),
        (0x95c5fb986980a81f, "-8.764271883973625e-204"),
        (0x2aa4857e8101e89a, "2.863253393402251e-103"),
        (0x34a9af4125ece845, "5.2374923668024025e-55"),
        (0x13ed748bb80e3b0d, "1.0936941514836716e-212"),
        (0xd64a3ce030a1f6d5, "-4.8141078806962144e+107"),
        (0x527122dc57708107, "1.3635548534927665e+89"),
        (0x7576714a06057c82, "6.739508595758605e+257"),
        (0x06e0f45856eaa301, "1.5303059611217572e-275"),
        (0x82bde024f7acee22, "-1.8272601399104736e-295"),
        (0xb0d26ee6fa928906, "-1.6301294128168097e-73"),
        (0x6a5ccc2cbe99854a, "2.2572140005785964e+204"),
        (0x01b5577d00e266d0, "1.9917479904700448e-300"),
        (0xa9f559fcf0b37868, "-1.4546223495953267e-106"),
        (0x29ef41d0deea959e, "1.0647315861075762e-106"),
        (0x94820a06c555663f, "-6.85882119867777e-210"),
        (0x495cfa4f2dcaabd5, "2.5849035208654928e+45"),
        (0xa70ce1b51978cec0, "-1.3980865026926386e-120"),
        (0x1b1bcf726a1eccda, "4.2893241473530543e-178"),
        (0xae711399e2b2848b, "-5.493913207906451e-85"),
        (0x2e80dbd593fd7234, "1.084765896058589e-84"),
        (0x600027e8bc90a6ec, "2.7076892184663095e+154"),
        (0xf5cdb9413b8d0e76, "-2.8563304288860733e+259"),
        (0x9893588c860a7da1, "-2.713760756235414e-190"),
        (0xe9c329a8b59a5969, "-2.9336244025820534e+201"),
        (0x5473da68d3285151, "6.784975464656184e+98"),
        (0x0a4de3e4ce9fb6a8, "4.860072067895261e-259"),
        (0x1eab5cd83b788b66, "6.082062402788562e-161"),
        (0x7fcd33d2df8960ad, "4.10132964629943e+307"),
        (0xbcb8a0843764b52e, "-3.417685226750283e-16"),
        (0xc18c6da1cd4944b6, "-59618361.66077559"),
        (0xab721ab08e1a11f0, "-2.0692936927247466e-99"),
        (0x41fad2962f927291, "7200137977.15297"),
        (0x6f05571896af0dea, "6.319251251549195e+226"),
        (0xea80db0684ab5616, "-1.056940311011457e+205"),
        (0x213f191ff56ae7ea, "1.5200456102231995e-148"),
        (0xfad2b6c50aa25068, "-4.348117394333563e+283"),
        (0x4d23bed52a04f77a, "4.061401464333647e+63"),
        (0xdd533730fbb91133, "-3.661269769061302e+141"),
        (0x026530cdd50b612b, "4.0502177924977255e-297"),
        (0xf70ae8c026784184, "-2.711481795810649e+265"),
        (0x5987baf13aa725cb, "1.9608773770896137e+123"),
        (0x578b24268a04f74f, "5.22176877534521e+113"),
        (0x62d1c049282fe557, "1.0467507166491465e+168"),
        (0x03499f8452e1fbb0, "8.023911259315103e-293"),
        (0x0f967bcc0ca02f4d, "1.4142587738176482e-233"),
        (0x71f2f9c4b6307bad, "7.908122518568666e+240"),
        (0x635a8ce2141cb03e, "4.007997109135255e+170"),
        (0xcc905983fe9e6246, "-6.568226815218018e+60"),
        (0x2df2b7c8ebaa7701, "2.3523319674493097e-87"),
        (0x02ff5f56c9f0b072, "3.0700980282040266e-294"),
        (0xb65b9045c5bc647a, "-7.543902500927032e-47"),
        (0x372139f35e2503dd, "3.862285675622193e-43"),
        (0x8334bb82adbfb00e, "-3.246198895799575e-293"),
        (0x1f1af1fac2e1dac4, "7.666272183892173e-159"),
        (0x9f3180427b142708, "-1.9917072854191663e-158"),
        (0x03898f4e0fc01b11, "1.2806528033449365e-291"),
        (0x7de6002da0485922, "2.8776776539821043e+298"),
        (0xc5a0ff6d53650fc7, "-2.63027625872595e+27"),
        (0xf74fd9ec9c2ecc16, "-5.135147086239563e+266"),
        (0xec2fc96a6bbb69f5, "-1.3376222657141875e+213"),
        (0x8cc05570f3d90ebd, "-2.920112608168592e-247"),
        (0x5d41eb25339bb47e, "1.7070668040312532e+141"),
        (0xa9b04e95c4d3c54c, "-6.943443525783314e-108"),
        (0x1e8fcb74b2d4f32a, "1.7668014370103972e-161"),
        (0x265015788e7ae9af, "3.801652100133177e-124"),
        (0x7eb14f84147de9b0, "1.8548466680109644e+302"),
        (0xe47b342b2a3a4667, "-1.0765316368766168e+176"),
        (0x55e6fa5af79fcaa0, "6.587487223251784e+105"),
        (0x340856933b0b6398, "4.8466205199672995e-58"),
        (0x29aa57a529ddf4c7, "5.608236388575786e-108"),
        (0x266fdf5c49cdbec7, "1.5067040208393873e-123"),
        (0x173148758980bb2c, "5.780202677294167e-197"),
        (0xb21ab98f85056138, "-2.4781990961863778e-67"),
        (0x2583bf9000da5a80, "5.697985911077337e-128"),
        (0xa85dffca00d0bac4, "-3.0454465617270388e-114"),
        (0xe2cce77b7efe369a, "-8.522146168608318e+167"),
        (0xd5d3cee22f529fb3, "-2.839371183697284e+105"),
        (0xef0e1c779b852cbc, "-8.916508270791997e+226"),
        (0xd9c1aa99cc6812b6, "-2.335697060103056e+124"),
        (0x43a7c488188b2694, "8.563216986513925e+17"),
        (0xc00187a68152a2c5, "-2.1912355521529627"),
        (0x10ed026067f8ab1f, "3.826751713004138e-227"),
        (0xc05f69afca5b2579, "-125.65135439778341"),
        (0x75fb4415f46d4e1d, "2.0961244526611627e+260"),
        (0x2e93761b6aae0b74, "2.504461249650085e-84"),
        (0xeb3f4d0a3e46cc1c, "-4.0197066737830738e+208"),
        (0x2f2faab7e0e3a17d, "2.0864899591815364e-81"),
        (0x5f77442206fb8a80, "7.615917795541164e+151"),
        (0x2d0bc102549968e7, "1.0644272998136749e-91"),
        (0x2d87bab8650ffbcf, "2.3297945069853475e-89"),
        (0x92573b502d9059c6, "-2.5707747585340037e-220"),
        (0xd2cf5d1dae103641, "-7.9861318468407615e+90"),
        (0xe4b1455b84ad1903, "-1.0935361238560972e+177"),
        (0xf5ce60113fba91d2, "-2.9189478353657627e+259"),
        (0x836170c269cacc7b, "-2.184601947794285e-292"),
        (0x6ae36852b11f43a4, "7.788555104309424e+206"),
        (0x1ec1db445330d7c5, "1.5876286696466443e-160"),
        (0xa4cc1ad011552ddf, "-1.9797549370939524e-131"),
        (0xbe5a445275e38718, "-2.4462941333113226e-08"),
        (0xa0ce08bb31efbef6, "-1.1469035461866962e-150"),
        (0x923c73249f0e5690, "-7.870495342264318e-221"),
        (0xbfc8436533af061b, "-0.1895567419397118"),
        (0x87ed24ba22910c37, "-1.7239120105766284e-270"),
        (0x3bb5a287e4daa2e7, "4.581365329389004e-21"),
        (0x915f892f548dc214, "-5.324859891907138e-225"),
        (0x2017a69d4ad48431, "4.4099001331323714e-154"),
        (0x82a4e5f289cb56b8, "-6.390926442744239e-296"),
        (0xc5795f45b1817b72, "-4.9076889475551325e+26"),
        (0xe4384bebabc67790, "-6.009279127398821e+174"),
        (0x0f27e5e8cc638bb9, "1.1744011760615876e-235"),
        (0xc6f736f0428b2d1b, "-7.533569576135374e+33"),
        (0x0b4634e66d47be83, "2.366336730663633e-254"),
        (0xcc9a502c5d2c805c, "-1.0570911272676434e+61"),
        (0x8930dd5b84459a03, "-2.092097213861204e-264"),
        (0x1b89788992f4b20d, "5.0284712345844046e-176"),
        (0xc24281d3a11908e0, "-158975083058.06934"),
        (0x27fafa5d11656edb, "4.279284421110761e-116"),
        (0xe15e16c15f081999, "-1.0575571389321733e+161"),
        (0xa282bbfab56471c8, "-1.920389828419362e-142"),
        (0x4661d077090b3597, "1.1291164397327534e+31"),
        (0x71afc8adbf0976bd, "4.1393654619028486e+239"),
        (0x5e622929af973c3d, "4.535474169396479e+146"),
        (0x4ea838f266dbcc44, "8.35885986122428e+70"),
        (0x9c4172e672fce34d, "-1.4109732383377358e-172"),
        (0x4fd550c343abd549, "3.856506100152423e+76"),
        (0x7e14fe2ebcba851b, "2.196686888664238e+299"),
        (0x0ce4ad117afbd9be, "1.4785672797817292e-246"),
        (0x72101a3f43df86ae, "2.684297202618864e+241"),
        (0x383a03010783a82e, "7.644161727227829e-38"),
        (0x22d57caa58569a9b, "7.048185107514365e-141"),
        (0x00855e6bebc6222b, "3.8037787569860196e-306"),
        (0xf8373eebad17d536, "-1.2280620365056162e+271"),
        (0xcdf91845a0277bbf, "-4.228467524939709e+67"),
        (0x00e1fe8739015b21, "2.0499731013033477e-304"),
        (0x6ded4f3fef256349, "3.310825313972367e+221"),
        (0x94b1fd29bf3d947d, "-5.471772926286932e-209"),
        (0x98320c04ff8d00ff, "-3.9555476508483774e-192"),
        (0xdbe73d797f95c61d, "-5.2786969368959946e+134"),
        (0x86c2ea0dcddd3307, "-4.267992435794162e-276"),
        (0xad22f81353c06463, "-2.9100254501742485e-91"),
        (0x33cc9f552a0376e4, "3.5623518098323078e-59"),
        (0x07984176ddadf2f0, "4.483716027082653e-272"),
        (0x9b4c9438b3b6056d, "-3.526301502295859e-177"),
        (0x9731a818fa19b1eb, "-5.905146660858647e-197"),
        (0x0bc3661fa83fcf81, "5.291894802793955e-252"),
        (0x648a36b6df91fb01, "2.0747045926093746e+176"),
        (0xb03fcbbf05a2335e, "-2.7459460938936593e-76"),
        (0x1c7e9da6df61e676, "1.9805621850781555e-171"),
        (0x905409e8ed35a03f, "-5.162892600666134e-230"),
        (0x1ed2e6596a3d722f, "3.360775996650444e-160"),
        (0x91a02d67761a3335, "-8.740995143577816e-224"),
        (0x81d9f22add340c40, "-9.685770652657053e-300"),
        (0x093045220e4be4dd, "2.0183325645135874e-264"),
        (0x44dbacaa943463dc, "5.2275610610017985e+23"),
        (0xfd5aa9a7f9d304ed, "-6.811459847350993e+295"),
        (0x62c56252378732a8, "6.304895739276065e+167"),
        (0x49f624ab75062c7b, "2.0226489569185465e+48"),
        (0xc9ea4914eb9c1dd6, "-1.2005082948840153e+48"),
        (0x38ced56208ab2f62, "4.639313530229261e-35"),
        (0x8016e897fa4a22a3, "-3.185828625490795e-308"),
        (0x6e97089d17aa6ca4, "5.328678155243073e+224"),
        (0xd5318e0c9214df36, "-2.457403039998521e+102"),
        (0x26b228e0071da04f, "2.7470697263520843e-122"),
        (0x82ddb3905fb5fe6c, "-7.266436725999647e-295"),
        (0xafe55998eac83e5b, "-5.761940895712432e-78"),
        (0x8d4ff96e282f85a8, "-1.4633731534839513e-244"),
        (0x4794820605f6b7b6, "6.814920168565421e+36"),
        (0xf99d8568e308f0b2, "-6.541374622277002e+277"),
        (0x4d69ceb05a20cb71, "8.493231760172003e+64"),
        (0x7807508087fd0099, "1.5396127955581835e+270"),
        (0xea439a5d53d5f270, "-7.68261949754319e+203"),
        (0x393210dbaa4e9df4, "3.479356500236122e-33"),
        (0x849606e97abe6620, "-1.4465701214385105e-286"),
        (0x732d7335f7e221bb, "6.434760514296074e+246"),
        (0xde7eced5d418b269, "-1.538794785197847e+147"),
        (0x2f1322d45b183469, "6.304251762352431e-82"),
        (0x7fc83b6371ff1fe4, "3.403255872860675e+307"),
        (0xf5e746b3950ff251, "-8.947010347694717e+259"),
        (0x4568daf562bd7859, "2.403857770503204e+26"),
        (0x11c169d725f10cd7, "3.763550729494694e-223"),
        (0xec22ddd2d0b6b260, "-7.939227492455235e+212"),
        (0x521b7c3c0e496d53, "3.417268515555741e+87"),
        (0x63a0322509dd13c4, "7.823697118411029e+171"),
        (0x4650ce462ef740b0, "5.325957435394659e+30"),
        (0x094049dbaae1b880, "4.041244436931702e-264"),
        (0x18da93fb78c12803, "5.965212816173575e-189"),
        (0x9a6417f57eb4f749, "-1.5132481560265184e-181"),
        (0xdd0f97efe85bef1e, "-1.8811602919965328e+140"),
        (0xd3c1336682861547, "-2.870363229553217e+95"),
        (0x521e5dad7fe0a5f7, "3.7754204772819544e+87"),
        (0x40c10f48023628c0, "8734.562567491434"),
        (0x9c29019375c7fb40, "-5.0552128172194555e-173"),
        (0xd699ab12ab194ee8, "-1.5070746655069895e+109"),
        (0xb9dda40c088602c6, "-5.845618778583619e-30"),
        (0x9d8564eb1b78a5e5, "-1.814047733989917e-166"),
        (0xb4813a20a363c403, "-8.78217304545854e-56"),
        (0x134dd5c101f13e91, "1.0818294877525034e-215"),
        (0x9f397d23dd10252b, "-2.9007624461794118e-158"),
        (0x4f4a72140d179401, "9.345072669092947e+73"),
        (0x800704863b112e95, "-9.75927573832892e-309"),
        (0xf29987a302ddb2d0, "-1.0894930065072264e+244"),
        (0x646acb44a99cdd62, "5.301579877981475e+175"),
        (0x808f50db7a283189, "-5.574406149503924e-306"),
        (0xacf4675ee4f7ec54, "-3.912660961655526e-92"),
        (0x9b10baafd4ee4256, "-2.5802330246284335e-178"),
        (0x1dca4be06fc3ccbf, "3.5675377481875654e-165"),
        (0x0000000d0afa1b6b, "2.76769339825e-313"),
        (0x27e49f50a946edc4, "1.6355706324979768e-116"),
        (0x6a9ad1588ba46f6f, "3.3632528357207937e+205"),
        (0xbfb628f810383cc9, "-0.08656263729084225"),
        (0x1865ca77f302477e, "3.8209186015382353e-191"),
        (0xf59a06bd3684f958, "-3.126289126119532e+258"),
        (0xe4800a336149b199, "-1.2694853355784213e+176"),
        (0xc7a63650837a3381, "-1.4762516473553023e+37"),
        (0xbea595ed4af140de, "-6.433025613404127e-07"),
        (0x531f0778c671c36b, "2.5283027795041505e+92"),
        (0xf4fc5d2353de7f38, "-3.327216535641299e+255"),
        (0x72b1b7305a5c1981, "3.024070489954512e+244"),
        (0x59099a2954b39f39, "8.263907520436283e+120"),
        (0x1fc43c39f39704a8, "1.1790738939088794e-155"),
        (0xf1329ecafc227d7c, "-1.894536252075424e+237"),
        (0xbb562682322cf997, "-7.328960561151e-23"),
        (0xd70f4902fc826400, "-2.3511881177909958e+111"),
        (0x5dc08a8950def729, "4.0341668205264575e+143"),
        (0x7e9b21aa301bc685, "7.267909777503283e+301"),
        (0x5f459f489dbcf3d2, "8.847239030523607e+150"),
        (0x4f02040155b78856, "3.978861267298807e+72"),
        (0x91d94c46ecaa34fe, "-1.0935248864917264e-222"),
        (0xf48606a5afff4683, "-2.018558448384814e+253"),
        (0x91e2dcba083fdada, "-1.6306692144526123e-222"),
        (0xcf0cc807ced36981, "-6.3565346980101914e+72"),
        (0xb531e44c6b78aa0f, "-1.867990147745645e-52"),
        (0x9d01f11313773772, "-5.942592727352776e-169"),
        (0x000dcec899bd1c73, "1.9202037535749313e-308"),
        (0x00006d8575326aea, "5.9495367442159e-310"),
        (0x000abda758ce5ecf, "1.493696915332292e-308"),
        (0x0007f7126464d50c, "1.107686879044915e-308"),
        (0x0009b67a231a38f7, "1.350731247755126e-308"),
        (0x000c3dc8c4749137, "1.702368507737676e-308"),
        (0x000dd2115fc098d2, "1.9219878713833295e-308"),
        (0x000d5895b0a2271c, "1.8559944727112854e-308"),
        (0x000d37c2915ad20e, "1.8381630828097035e-308"),
        (0x0004c75ee66db8a4, "6.64572795839353e-309"),
        (0x0008c278cbe3dbfb, "1.2181800577652415e-308"),
        (0x0007fb7b21ddaeaa, "1.1100820608398435e-308"),
        (0x000b122173908493, "1.539587418109224e-308"),
        (0x000775da02da8028, "1.037490449763265e-308"),
        (0x0005e1aec14d9e9b, "8.179333679098675e-309"),
        (0x00068d203b12f20f, "9.110666505433506e-309"),
        (0x00078c7afa01b328, "1.0497830980481473e-308"),
        (0x0009de0839b59fc4, "1.372218764525214e-308"),
        (0x000570df821a34f5, "7.56651727587984e-309"),
        (0x0004ba4b7dd8b881, "6.574696090417013e-309"),
        (0x000f861cd3cbf93c, "2.158860857439117e-308"),
        (0x0003a853985d2c96, "5.0864153205048e-309"),
        (0x0006a597e18fa87c, "9.24358090201892e-309"),
        (0x000ea1d151d3eedf, "2.034843980109468e-308"),
        (0x0002662818f4b94b, "3.336288730997624e-309"),
        (0x00088a922f8aeea3, "1.1878130020259644e-308"),
        (0x000c2b850bd942ef, "1.6924466472017793e-308"),
        (0x000fc3ddb51615aa, "2.1924072343377076e-308"),
        (0x000f2385afa197c8, "2.105303505893039e-308"),
        (0x0001f794c1317fb6, "2.735608107766965e-309"),
        (0x3ee4f8b588e368f1, "1e-05"),
        (0x3ee4f8b588e368f2, "1.0000000000000003e-05"),
        (0x3ee4f8b588e368f3, "1.0000000000000004e-05"),
        (0x3ee4f8b588e368f0, "9.999999999999999e-06"),
        (0x3f1a36e2eb1c432d, "0.0001"),
        (0x3f1a36e2eb1c432e, "0.00010000000000000002"),
        (0x3f1a36e2eb1c432f, "0.00010000000000000003"),
        (0x3f1a36e2eb1c432c, "9.999999999999999e-05"),
        (0x430c6bf526340000, "1000000000000000.0"),
        (0x430c6bf526340001, "1000000000000000.1"),
        (0x430c6bf526340002, "1000000000000000.2"),
        (0x430c6bf52633ffff, "999999999999999.9"),
        (0x4341c37937e08000, "1e+16"),
        (0x4341c37937e08001, "1.0000000000000002e+16"),
        (0x4341c37937e08002, "1.0000000000000004e+16"),
        (0x4341c37937e07fff, "9999999999999998.0"),
        (0x4376345785d8a000, "1e+17"),
        (0x4376345785d8a001, "1.0000000000000002e+17"),
        (0x4376345785d8a002, "1.0000000000000003e+17"),
        (0x4376345785d89fff, "9.999999999999998e+16"),
        (0x4340000000000000, "9007199254740992.0"),
        (0x4340000000000001, "9007199254740994.0"),
        (0x4340000000000002, "9007199254740996.0"),
        (0x433fffffffffffff, "9007199254740991.0"),
        (0x3fb999999999999a, "0.1"),
        (0x3fb999999999999b, "0.10000000000000002"),
        (0x3fb999999999999c, "0.10000000000000003"),
        (0x3fb9999999999999, "0.09999999999999999"),
        (0x3ff0000000000000, "1.0"),
        (0x3ff0000000000001, "1.0000000000000002"),
        (0x3ff0000000000002, "1.0000000000000004"),
        (0x3fefffffffffffff, "0.9999999999999999"),
        (0x4059000000000000, "100.0"),
        (0x4059000000000001, "100.00000000000001"),
        (0x4059000000000002, "100.00000000000003"),
        (0x4058ffffffffffff, "99.99999999999999"),
        (0x412124b451eb851f, "561754.16"),
        (0xc10f9d320a3d70a4, "-258982.255"),
        (0x41136b3c00000000, "318159.0"),
        (0xc128ae034e2eb1c4, "-808705.6527"),
        (0x410566e88e765298, "175325.06956162"),
        (0x410c38d5e8db8bac, "231194.7387"),
        (0xc112b64e1a2877ee, "-306579.525545"),
        (0xc12d35c033333333, "-957152.1"),
        (0x4105a83828a33cb1, "177415.0198426"),
        (0x41114ca2126e978d, "283432.518"),
        (0xc11de4b0147ae148, "-489772.02"),
        (0x4116937c00000000, "369887.0"),
        (0x4088060000000000, "768.75"),
        (0x40eb2c03e0ded289, "55648.1212"),
        (0xc121a3c3d844d014, "-578017.9224"),
        (0x412a029a00000000, "852301.0"),
        (0xc129a8b3d70a3d71, "-840793.92"),
        (0x4121e006bc6a7efa, "585731.368"),
        (0x4119d7e400000000, "423417.0"),
        (0x4122d6de5c28f5c3, "617327.18"),
        (0xc12d512b9eb851ec, "-960661.81"),
        (0xc10dc9331cb46bad, "-244006.389016"),
        (0xc12d0351a3d70a3d, "-950696.82"),
        (0x4115180020388b62, "345600.0314657"),
        (0xc125b6039999999a, "-711425.8"),
        (0xc111863b33333333, "-287118.8"),
        (0x411d7be400000000, "483065.0"),
        (0xc12a21b66949a565, "-856283.20564"),
        (0xc12673bfc6e6d9be, "-735711.88848"),
        (0xc1134764851eb852, "-315865.13"),
        (0xc36357f602446525, "-4.355790935288452e+16"),
        (0xc32f8b4fa5d3aba4, "-4439449239410130.0"),
        (0xc371ad6d6f5a996e, "-7.961216216528253e+16"),
        (0xc3679bd5a1151b1b, "-5.3162130377595096e+16"),
        (0x436012dd7c595752, "3.619473688538178e+16"),
        (0x436a45a8721816de, "5.915951332384536e+16"),
        (0x436af47f99bbf740, "6.069742617386854e+16"),
        (0xc36b833194ca807a, "-6.195258675298402e+16"),
        (0xc374a1249fb1192d, "-9.290685126866197e+16"),
        (0xc369a0debd79337d, "-5.7710023518297064e+16"),
        (0xc36af509e37ea627, "-6.0702177717727544e+16"),
        (0x43758cc7a67aaf3c, "9.705221808579885e+16"),
        (0x436ab1df194057ea, "6.011136923158101e+16"),
        (0x4370333f35e76ea2, "7.29591393229809e+16"),
        (0xc3575e26ab1f7330, "-2.630977854831328e+16"),
        (0x4365d60b946176dc, "4.917055786658787e+16"),
        (0x43361cad3300dd57, "6223979698249047.0"),
        (0x434bb9b42c4c17f5, "1.560801571924785e+16"),
        (0xc36281b499fe58e4, "-4.167329806776912e+16"),
        (0xc36f8088dfa32e7e, "-7.093639707161086e+16"),
    ];
}
