//! Text that comes from outside (a token's header and claims, an identity provider's answers,
//! a key set's members) made safe for a log line or a response body: control characters and
//! the characters that reorder or break a line are escaped, and the length is bounded, so that
//! such text can neither forge a line of its own nor flood one.
//!
//! ```text
//! "evil\nINFO forged line" -> "evil\nINFO forged line" (the newline written as `\n`)
//! ```

use std::fmt;

/// The most characters of one piece of outside text written anywhere.
pub(crate) const MAX_QUOTED_CHARS: usize = 200;

/// Displays outside text escaped and cut to [`MAX_QUOTED_CHARS`] (`…` marks the cut).
#[derive(Clone, Copy)]
pub(crate) struct Untrusted<'a>(pub(crate) &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, MAX_QUOTED_CHARS)
    }
}

/// `text` escaped, at most `max_chars` characters of it kept (`…` marks a cut).
#[cfg(any(feature = "jwks", feature = "introspection", feature = "client", test))]
pub(crate) fn untrusted(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars) + 2);
    // Writing into a `String` cannot fail.
    let _ = write_escaped(&mut out, text, max_chars);
    out
}

/// At most `max_chars` characters of `text`, not escaped: for text kept in an error whose
/// message escapes it with [`Untrusted`].
pub(crate) fn cut(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Whether `c` must not reach a log line as itself: control characters, line and paragraph
/// separators, the bidirectional controls (which reorder what a reader sees) and the byte
/// order mark. A backslash is escaped too, so that an escape cannot be forged.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\\' | '\u{2028}'
                | '\u{2029}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

fn write_escaped(out: &mut impl fmt::Write, text: &str, max_chars: usize) -> fmt::Result {
    for (count, c) in text.chars().enumerate() {
        if count == max_chars {
            return out.write_char('…');
        }
        match needs_escape(c) {
            true => write!(out, "{}", c.escape_debug())?,
            false => out.write_char(c)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_and_controls_are_escaped() {
        assert_eq!(
            untrusted("iss\nINFO forged\r\u{1b}[31m", 100),
            r"iss\nINFO forged\r\u{1b}[31m"
        );
        assert_eq!(
            untrusted("a\u{2028}b\u{202e}c", 100),
            r"a\u{2028}b\u{202e}c"
        );
        assert_eq!(
            untrusted(r"a\nb", 100),
            r"a\\nb",
            "a forged escape stays visible"
        );
    }

    #[test]
    fn ordinary_text_passes_and_long_text_is_cut() {
        assert_eq!(
            untrusted("https://kc.example/realms/ü", 100),
            "https://kc.example/realms/ü"
        );
        assert_eq!(untrusted("abcdef", 3), "abc…");
        assert_eq!(untrusted("abc", 3), "abc");
        let long = "x".repeat(10_000);
        assert_eq!(
            Untrusted(&long).to_string().chars().count(),
            MAX_QUOTED_CHARS + 1
        );
    }
}
