//! Text from the daemon (names, paths, messages) made safe to print for people: control
//! characters would forge rows (a newline in a file name) or drive the terminal (escape
//! sequences), so they are shown escaped. JSON output needs none of this; its encoder escapes.

use std::borrow::Cow;

/// `text` with every control character, and the Unicode controls that reorder what is shown,
/// written as a visible escape (`\n`, `\t`, `\x1b`, `\u{202e}`).
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        match character {
            '\n' => shown.push_str("\\n"),
            '\r' => shown.push_str("\\r"),
            '\t' => shown.push_str("\\t"),
            character if needs_escape(character) && (character as u32) < 0x100 => {
                shown.push_str(&format!("\\x{:02x}", character as u32));
            }
            character if needs_escape(character) => shown.push_str(&format!("\\u{{{:x}}}", character as u32)),
            character => shown.push(character),
        }
    }
    Cow::Owned(shown)
}

/// Control characters (C0, DEL, C1) and the bidirectional overrides and isolates.
fn needs_escape(character: char) -> bool {
    character.is_control()
        || matches!(character, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped_and_plain_text_is_kept() {
        assert!(matches!(escape("duck.png — ünïcode ok"), Cow::Borrowed(_)));
        assert_eq!(escape("a\nfake-row\tx"), "a\\nfake-row\\tx");
        assert_eq!(escape("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
        assert_eq!(escape("\u{9b}2J and \u{7f}"), "\\x9b2J and \\x7f");
        assert_eq!(escape("gnp.\u{202e}exe"), "gnp.\\u{202e}exe");
    }
}
