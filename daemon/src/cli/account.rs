//! `3dgpt account`: sign up, log in, who is signed in, log out. The password is read from a
//! prompt that does not echo, or from standard input with `--password-stdin` (like `docker
//! login`), and goes to the daemon only: the daemon derives the keys and the service never sees it.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use threedgpt_sdk::{AccountStatus, SignUpRequest};

use super::terminal::{escape, say};

/// `3dgpt account`.
#[derive(Debug, Args)]
pub(crate) struct AccountArgs {
    #[command(subcommand)]
    command: Option<AccountCommand>,
    /// Print JSON for scripts.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Create an account (13 and older) and sign this device in; prints the recovery code once.
    Signup {
        /// The cloud service, such as https://cloud.example.com.
        #[arg(long)]
        server: String,
        #[arg(long)]
        email: String,
        /// Your name, as the account shows it.
        #[arg(long)]
        name: String,
        /// Your date of birth, YYYY-MM-DD.
        #[arg(long = "birth-date")]
        birth_date: String,
        /// Your country (ISO code such as DE), where the age of consent is above 13.
        #[arg(long, default_value = "")]
        country: String,
        #[command(flatten)]
        login: LoginOptions,
    },
    /// Sign this device in to an account.
    Login {
        /// The cloud service (default: the one this data folder last signed in to).
        #[arg(long, default_value = "")]
        server: String,
        #[arg(long)]
        email: String,
        #[command(flatten)]
        login: LoginOptions,
    },
    /// Who is signed in on this device (the default).
    Status,
    /// End this device's session (the local history stays).
    Logout,
    /// Every device signed in to the account.
    Sessions,
    /// Change the password (the current one, then the new one; with --password-stdin one per
    /// line); every other device is signed out and logs in with the new one.
    Password {
        /// Read the current and the new password from standard input, one per line.
        #[arg(long = "password-stdin")]
        password_stdin: bool,
    },
    /// Get back in with the recovery code after a forgotten password: sets a new password, prints
    /// a new recovery code (the old one stops working) and signs this device in.
    Recover {
        /// The cloud service (default: the one this data folder last signed in to).
        #[arg(long, default_value = "")]
        server: String,
        #[arg(long)]
        email: String,
        /// The recovery code (asked for when not given).
        #[arg(long, default_value = "")]
        code: String,
        #[command(flatten)]
        login: LoginOptions,
    },
    /// Download the account's export (a tar archive: docs/export.md).
    Export {
        /// Where to write it.
        #[arg(short, long)]
        output: std::path::PathBuf,
    },
    /// Delete the account and everything it holds, at the service and on this device (asks twice
    /// on a terminal; --yes for scripts). Generations that never left this device stay.
    Delete {
        /// Read the password from standard input (one line) instead of a prompt.
        #[arg(long = "password-stdin")]
        password_stdin: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
struct LoginOptions {
    /// Read the password from standard input (one line) instead of a prompt.
    #[arg(long = "password-stdin")]
    password_stdin: bool,
    /// How the account's session list names this device (default: the host's name).
    #[arg(long = "device-name", default_value = "")]
    device_name: String,
}

pub(crate) fn run(args: AccountArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    super::runtime()?.block_on(async {
        let client = super::connect(true).await?;
        match args.command.unwrap_or(AccountCommand::Status) {
            AccountCommand::Signup { server, email, name, birth_date, country, login } => {
                let password = password(login.password_stdin, true)?;
                let mut request = SignUpRequest::new(&server, &email, &name, &birth_date, &password)
                    .with_device_name(&login.device_name);
                request.country = country;
                let (status, code) = client.account_sign_up(request).await?;
                if json {
                    let mut value = status_json(&status);
                    value["recovery_code"] = code.into();
                    say!("{value}");
                } else {
                    print_status(&status);
                    say!("");
                    say!("Your recovery code (shown this once; keep it somewhere safe, away from this computer):");
                    say!("    {code}");
                    say!("With it you get back in if you forget your password: `3dgpt account recover`.");
                }
            }
            AccountCommand::Login { server, email, login } => {
                let password = password(login.password_stdin, false)?;
                let status = client.account_log_in(&server, &email, &password, &login.device_name).await?;
                show(&status, json);
            }
            AccountCommand::Status => show(&client.account_status().await?, json),
            AccountCommand::Logout => {
                let status = client.account_log_out().await?;
                if json {
                    say!("{}", status_json(&status));
                } else if status.message.is_empty() {
                    say!("Signed out. This device's history stays here.");
                } else {
                    say!("{}", escape(&status.message));
                }
            }
            AccountCommand::Sessions => {
                let sessions = client.account_sessions().await?;
                if json {
                    let rows: Vec<_> = sessions
                        .iter()
                        .map(|session| {
                            serde_json::json!({
                                "id": session.id, "device_name": session.device_name, "os": session.os,
                                "created_at": session.created_at, "last_seen_at": session.last_seen_at,
                                "current": session.current,
                            })
                        })
                        .collect();
                    say!("{}", serde_json::json!({ "sessions": rows }));
                } else {
                    for session in &sessions {
                        let mark = if session.current { "\t(this device)" } else { "" };
                        say!("{}\t{}\t{}{mark}", session.id, escape(&session.device_name), escape(&session.os));
                    }
                }
            }
            AccountCommand::Password { password_stdin } => {
                let (current, new) = if password_stdin {
                    let mut lines = stdin_lines(2)?.into_iter();
                    (lines.next().unwrap_or_default(), lines.next().unwrap_or_default())
                } else {
                    (prompt_hidden("Current password: ")?, password(false, true)?)
                };
                let status = client.account_change_password(&current, &new).await?;
                if json {
                    say!("{}", status_json(&status));
                } else {
                    say!("Password changed. Other devices are signed out: log in there with the new password.");
                }
            }
            AccountCommand::Recover { server, email, code, login } => {
                let code = if code.is_empty() { prompt_hidden("Recovery code: ")? } else { code };
                let new = password(login.password_stdin, true)?;
                let (status, next) = client.account_recover(&server, &email, &code, &new, &login.device_name).await?;
                if json {
                    let mut value = status_json(&status);
                    value["recovery_code"] = next.into();
                    say!("{value}");
                } else {
                    print_status(&status);
                    say!("");
                    say!("Your new recovery code (the old one no longer works; keep this one safe):");
                    say!("    {next}");
                }
            }
            AccountCommand::Export { output } => {
                let bytes = client.account_export(&output).await?;
                if json {
                    say!("{}", serde_json::json!({"path": output.display().to_string(), "bytes": bytes}));
                } else {
                    say!("{} ({bytes} bytes)", output.display());
                }
            }
            AccountCommand::Delete { password_stdin, yes } => {
                if !yes && !confirm_deletion()? {
                    say!("Nothing was deleted.");
                    return Ok(ExitCode::SUCCESS);
                }
                let password = password(password_stdin, false)?;
                let removed = client.account_delete(&password).await?;
                if json {
                    say!("{}", serde_json::json!({"deleted": true, "removed_here": removed}));
                } else {
                    say!(
                        "The account and everything it held are deleted; {removed} of its generations were removed \
                         from this device. Generations that never left it stay."
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn show(status: &AccountStatus, json: bool) {
    if json {
        say!("{}", status_json(status));
    } else {
        print_status(status);
    }
}

fn print_status(status: &AccountStatus) {
    if !status.signed_in {
        say!("Not signed in. `3dgpt account login --server URL --email E` signs this device in.");
    } else {
        say!("signed in\t{} <{}>", escape(&status.name), escape(&status.email));
        say!("server\t{}", escape(&status.server));
        say!("account\t{}", status.account_id);
        say!("tier\t{}", status.tier);
        say!("email verified\t{}", status.email_verified);
        if status.bytes_limit > 0 {
            say!(
                "synced\t{} of {} generations, {:.1} of {:.1} MB",
                status.generations,
                status.generations_limit,
                status.bytes_used as f64 / 1e6,
                status.bytes_limit as f64 / 1e6
            );
        }
        say!("this device\t{}", escape(&status.device_name));
    }
    if !status.message.is_empty() {
        say!("note\t{}", escape(&status.message));
    }
}

fn status_json(status: &AccountStatus) -> serde_json::Value {
    serde_json::json!({
        "signed_in": status.signed_in,
        "server": status.server,
        "account_id": status.account_id,
        "email": status.email,
        "name": status.name,
        "tier": status.tier,
        "email_verified": status.email_verified,
        "device_name": status.device_name,
        "session_id": status.session_id,
        "data_key_check": status.data_key_check,
        "message": status.message,
        "bytes_used": status.bytes_used,
        "bytes_limit": status.bytes_limit,
        "generations": status.generations,
        "generations_limit": status.generations_limit,
    })
}

/// `n` lines of standard input, none empty.
fn stdin_lines(n: usize) -> anyhow::Result<Vec<String>> {
    use std::io::BufRead;
    let mut lines = Vec::new();
    for line in std::io::stdin().lock().lines().take(n) {
        lines.push(line?.trim_end_matches('\r').to_owned());
    }
    anyhow::ensure!(
        lines.len() == n && lines.iter().all(|line| !line.is_empty()),
        "expected {n} passwords on standard input, one per line"
    );
    Ok(lines)
}

/// One hidden answer at a prompt on the terminal.
fn prompt_hidden(prompt: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    anyhow::ensure!(std::io::stdin().is_terminal(), "no terminal to ask on: use --password-stdin (and --code)");
    Ok(super::terminal::read_hidden(prompt)?)
}

/// Asks twice, on a terminal, before the account goes; `false` when not on a terminal (use --yes).
fn confirm_deletion() -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    anyhow::ensure!(
        std::io::stdin().is_terminal(),
        "deleting the account asks for confirmation on a terminal; pass --yes to confirm in a script"
    );
    let ask = |question: &str| -> anyhow::Result<String> {
        print!("{question} ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        Ok(answer.trim().to_owned())
    };
    if !matches!(ask("Delete your account, every synced generation and every session? [y/N]")?.as_str(), "y" | "yes") {
        return Ok(false);
    }
    Ok(ask("This cannot be undone. Type DELETE to confirm:")? == "DELETE")
}

/// The password: one line of standard input, or typed at a prompt that does not echo (twice for a
/// new one).
fn password(from_stdin: bool, new: bool) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let password = line.trim_end_matches(['\n', '\r']).to_owned();
        anyhow::ensure!(!password.is_empty(), "no password on standard input");
        return Ok(password);
    }
    anyhow::ensure!(
        std::io::stdin().is_terminal(),
        "no terminal to ask for the password on: pipe it in with --password-stdin"
    );
    let password = super::terminal::read_hidden("Password: ")?;
    if new {
        let again = super::terminal::read_hidden("Password again: ")?;
        anyhow::ensure!(again == password, "the two passwords differ; nothing was changed");
    }
    Ok(password)
}
