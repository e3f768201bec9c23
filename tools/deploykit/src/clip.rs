//! Short messages about huge inputs.
//!
//! An error message quotes the input it rejects, which is what the user needs
//! to find the mistake, until the input is a 1 MiB DSN, a 100 KiB image
//! reference or a 10,000-component path: then the message is the whole input
//! again and buries the terminal or the CI log. [`long_words`] shortens every
//! overlong word of a message (a run without whitespace) to its head and tail
//! and says how long it was; a message with no such word is returned as it
//! was. It only ever removes text, so a redacted message stays redacted.

use std::borrow::Cow;

/// Words longer than this many bytes are shortened.
pub const MAX_WORD: usize = 256;

/// How much of a shortened word's head and tail is kept, in bytes.
const HEAD: usize = 96;
const TAIL: usize = 32;

/// `text` with every word longer than [`MAX_WORD`] bytes shortened to
/// `head…[N bytes]…tail`; whitespace is kept as it was.
pub fn long_words(text: &str) -> Cow<'_, str> {
    if text.split_whitespace().all(|w| w.len() <= MAX_WORD) {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    for piece in text.split_inclusive(char::is_whitespace) {
        let word = piece.trim_end_matches(char::is_whitespace);
        out.push_str(&shorten(word));
        out.push_str(&piece[word.len()..]);
    }
    Cow::Owned(out)
}

fn shorten(word: &str) -> Cow<'_, str> {
    if word.len() <= MAX_WORD {
        return Cow::Borrowed(word);
    }
    let mut head = HEAD;
    while !word.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = word.len() - TAIL;
    while !word.is_char_boundary(tail) {
        tail += 1;
    }
    Cow::Owned(format!(
        "{}…[{} bytes]…{}",
        &word[..head],
        word.len(),
        &word[tail..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_are_untouched() {
        let msg = "invalid port number: \"99999\"\n  in DATABASE_URL";
        assert!(matches!(long_words(msg), Cow::Borrowed(m) if m == msg));
    }

    #[test]
    fn a_huge_word_keeps_its_head_tail_and_length() {
        let huge = format!("\"postgres://u:***@h:{}/db\"", "1".repeat(1 << 20));
        let msg = format!("invalid integer value {huge} for connection option \"port\"");
        let out = long_words(&msg);
        assert!(out.len() < 300, "{}", out.len());
        assert!(out.starts_with("invalid integer value \"postgres://u:***@h:111"));
        assert!(out.ends_with("111/db\" for connection option \"port\""));
        assert!(out.contains(&format!("…[{} bytes]…", huge.len())));
    }

    #[test]
    fn multibyte_characters_are_not_split() {
        let msg = format!("bad {} end", "é".repeat(1000));
        let out = long_words(&msg);
        assert!(
            out.starts_with("bad éé") && out.ends_with("éé end"),
            "{out}"
        );
    }

    #[test]
    fn whitespace_between_words_is_kept() {
        let msg = format!("a\n\t{}  b", "x".repeat(300));
        let out = long_words(&msg);
        assert!(
            out.starts_with("a\n\txxx") && out.ends_with("xxx  b"),
            "{out:?}"
        );
    }
}
