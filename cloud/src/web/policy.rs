//! The privacy policy, rendered from what this server is configured to do (the minimum ages, how
//! long deletions and telemetry are kept, whether mail and payments are set up). Each promise is a
//! list item with a `data-promise` name; the web tests check every named promise against what the
//! server and the pages actually do, so a promise without a test fails them.

use axum::extract::State;
use axum::response::Response;

use crate::age::MINIMUM_AGE;
use crate::server::Service;

/// `GET /privacy`: the policy as a page that needs no script to read.
pub(super) async fn page(State(service): State<Service>) -> Response {
    super::html(render(&service).into_bytes())
}

fn days(seconds: i64) -> String {
    let days = (seconds + 86_399) / 86_400;
    if days == 1 { "1 day".to_owned() } else { format!("{days} days") }
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn render(service: &Service) -> String {
    let settings = &service.settings;
    let countries: Vec<String> = settings
        .age
        .countries
        .iter()
        .filter(|(_, age)| **age > MINIMUM_AGE)
        .map(|(country, age)| format!("{} in {}", age, escape(country)))
        .collect();
    let ages = if countries.is_empty() {
        String::new()
    } else {
        format!(" (older where the law says so: {})", countries.join(", "))
    };
    let mail = if settings.smtp.is_some() {
        "Your email address is used to sign you in, to verify it with one mailed link, and for nothing else \
         unless you ask for marketing email."
    } else {
        "Your email address is used to sign you in and for nothing else: this server sends no mail at all."
    };
    let payments = if settings.payments.checkout_url.is_some() || settings.payments.webhook_secret.is_some() {
        "Pro is paid through the payment provider, which handles your card; this server keeps only the \
         provider's customer and subscription ids and the subscription's status, never card details."
    } else {
        "This server takes no payments and offers no paid tier."
    };
    let promises = [
        (
            "password-never-sent",
            "Your password never leaves your device or your browser. It is turned into keys where you type \
             it; this server receives only an authentication key derived from it, and stores only an \
             argon2id hash of that.",
        ),
        (
            "encrypted",
            "Your pictures, models and generation records are encrypted with a key only you hold before they \
             leave your device. This server stores ciphertext it cannot read, and the web pages decrypt it \
             in your browser.",
        ),
        (
            "age",
            &*format!(
                "Accounts are for people aged {MINIMUM_AGE} or older{ages}. When someone younger tries to sign \
             up, nothing about the attempt is kept."
            ),
        ),
        ("email", mail),
        (
            "download",
            "You can download any of your generations, and export everything this server holds about you \
             as one archive, at any time.",
        ),
        (
            "delete",
            &*format!(
                "You can delete any generation, your whole history or your account at any time. Deleting the \
             account removes everything it holds here at once. A deleted generation leaves only its id, \
             kept {} so your other devices learn of the deletion.",
                days(settings.sync.tombstone_seconds)
            ),
        ),
        (
            "training",
            "Nothing you make is used to train any model unless you explicitly agree. Every change of that \
             consent is recorded with its time, and you can withdraw it at any time.",
        ),
        (
            "telemetry",
            &*format!(
                "Anonymous usage statistics are off unless you switch them on. They carry no account, email, \
             name or file path, and are kept {}.",
                days(settings.telemetry.retention_seconds)
            ),
        ),
        ("marketing", "You get no marketing email unless you ask for it."),
        ("sessions", "You can see every device and browser signed in to your account and end any of their sessions."),
        (
            "cookies",
            "These pages set no analytics or advertising cookies at all. They set one session cookie when you \
             sign in (removed when you sign out or close the browser), and a preferences cookie (your theme) \
             only if you choose to keep preferences.",
        ),
        (
            "no-third-parties",
            "These pages load nothing from any other site: no fonts, scripts, images, analytics or trackers.",
        ),
        (
            "no-secrets-stored",
            "The keys your browser derives at sign-in are kept, for that session only, as a key your browser \
             will not let any script read out; they are removed when you sign out. Nothing secret is kept in \
             the browser's local storage or in addresses.",
        ),
        ("payments", payments),
    ];
    let items: String = promises
        .iter()
        .map(|(name, text)| format!("      <li data-promise=\"{name}\">{}</li>\n", escape(text)))
        .collect();
    let main = format!(
        r##"<main id="main" data-static="privacy">
    <h1>Privacy policy</h1>
    <p>What this 3D GPT server does with your data. It describes this server as it is configured now.</p>
    <ul class="promises">
{items}    </ul>
    <h2>Your rights</h2>
    <p>You can see, correct, download and delete your data yourself on your <a href="/account">account</a>,
      <a href="/generations">generations</a> and <a href="/settings">privacy settings</a> pages, or with the
      3D GPT app.</p>
  </main>"##
    );
    in_shell("Privacy policy · 3D GPT", &main)
}

/// The pages' shell (`index.html`: the header, the footer, the stylesheet and the script, which
/// adds the navigation, the theme and the cookie notice) with `main` and `title` in it.
fn in_shell(title: &str, main: &str) -> String {
    let shell = String::from_utf8_lossy(super::find("index.html").unwrap_or_default());
    match (shell.find("<main"), shell.find("</main>")) {
        (Some(start), Some(end)) => format!(
            "{}{main}{}",
            shell[..start].replace("<title>3D GPT</title>", &format!("<title>{}</title>", escape(title))),
            &shell[end + "</main>".len()..]
        ),
        _ => main.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_sits_in_the_pages_shell() {
        let page = in_shell("Privacy policy · 3D GPT", "<main id=\"main\">promises</main>");
        assert!(page.contains("<title>Privacy policy · 3D GPT</title>"), "{page}");
        assert!(page.contains("<main id=\"main\">promises</main>") && !page.contains("noscript"), "{page}");
        assert!(page.contains("/assets/app.js") && page.contains("href=\"/privacy\""), "{page}");
    }

    #[test]
    fn days_round_up_and_text_is_escaped() {
        assert_eq!(days(90 * 24 * 3600), "90 days");
        assert_eq!(days(3600), "1 day");
        assert_eq!(escape("<b>\"x\" & y</b>"), "&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;");
    }
}
