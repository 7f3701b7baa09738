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
        #[arg(long)]
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
    })
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
