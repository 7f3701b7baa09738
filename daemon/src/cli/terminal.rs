//! Text from the daemon (names, paths, messages) made safe to print for people: control
//! characters would forge rows (a newline in a file name) or drive the terminal (escape
//! sequences), so they are shown escaped. JSON output needs none of this; its encoder escapes.

use std::borrow::Cow;

/// `println!` for a command's results. When whoever reads standard output has gone
/// (`3dgpt history list | head -1`), the command ends quietly with status 141, as a Unix tool
/// killed by SIGPIPE does, instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::terminal::write_line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// Writes one line to standard output (see [`say`]).
pub(crate) fn write_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_fmt(line).and_then(|()| out.write_all(b"\n")).and_then(|()| out.flush()) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("error: could not write to standard output: {error}");
        std::process::exit(1);
    }
}

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

/// Reads a line typed at the terminal without showing it (a password), after `prompt` on standard
/// error. Echo comes back however the read ends.
#[cfg(unix)]
pub(crate) fn read_hidden(prompt: &str) -> std::io::Result<String> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    use std::io::{BufRead, Write};
    let stdin = std::io::stdin();
    let before = tcgetattr(&stdin)?;
    let mut hidden = before.clone();
    hidden.local_modes.remove(LocalModes::ECHO);
    hidden.local_modes.insert(LocalModes::ECHONL);
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    tcsetattr(&stdin, OptionalActions::Now, &hidden)?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    tcsetattr(&stdin, OptionalActions::Now, &before)?;
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// Reads a line typed at the console without showing it: the console's echo is switched off for
/// the read and back on however it ends.
#[cfg(windows)]
#[allow(unsafe_code)]
pub(crate) fn read_hidden(prompt: &str) -> std::io::Result<String> {
    use std::io::{BufRead, Write};
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::System::Console::{CONSOLE_MODE, ENABLE_ECHO_INPUT, GetConsoleMode, SetConsoleMode};
    let stdin = std::io::stdin();
    let handle = stdin.as_raw_handle();
    let mut before: CONSOLE_MODE = 0;
    // SAFETY: `handle` is this process's standard input, open for the process's life; the mode is
    // written into a local.
    if unsafe { GetConsoleMode(handle, &mut before) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    // SAFETY: as above; only the echo bit of the console's own mode changes.
    if unsafe { SetConsoleMode(handle, before & !ENABLE_ECHO_INPUT) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    // SAFETY: as above; the mode read before is put back.
    unsafe { SetConsoleMode(handle, before) };
    eprintln!();
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
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
