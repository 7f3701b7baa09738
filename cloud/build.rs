//! Builds the web pages (`web/`: TypeScript bundled by esbuild, with its npm packages installed from
//! `web/package-lock.json`) into `OUT_DIR/web`, and writes `OUT_DIR/web_assets.rs`, the table of
//! files the server embeds and serves at `/assets/`. Nothing is fetched at run time; npm reaches
//! its registry here, at build time, as cargo reaches crates.io.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let web = manifest.join("web");
    for watched in ["web/src", "web/static", "web/package.json", "web/package-lock.json"] {
        println!("cargo:rerun-if-changed={watched}");
    }
    println!("cargo:rerun-if-env-changed=NPM");

    // The packages, installed into OUT_DIR (never into the source tree) once per lock file.
    let packages = out.join("npm");
    std::fs::create_dir_all(&packages).expect("OUT_DIR is writable");
    let lock = std::fs::read(web.join("package-lock.json")).expect("cloud/web/package-lock.json is readable");
    let installed = packages.join("node_modules").is_dir()
        && std::fs::read(packages.join("package-lock.json")).is_ok_and(|installed| installed == lock);
    if !installed {
        std::fs::copy(web.join("package.json"), packages.join("package.json")).expect("copy package.json");
        std::fs::write(packages.join("package-lock.json"), &lock).expect("copy package-lock.json");
        let npm = std::env::var("NPM").unwrap_or_else(|_| "npm".to_owned());
        run(
            Command::new(&npm).args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&packages),
            &npm,
        );
    }

    // One bundle for the pages, split so the 3D viewer (three.js) loads only when it is opened.
    let built = out.join("web");
    let _ = std::fs::remove_dir_all(&built);
    std::fs::create_dir_all(&built).expect("OUT_DIR is writable");
    let esbuild = packages.join("node_modules/esbuild/bin/esbuild");
    let mut bundle = Command::new(&esbuild);
    bundle
        .arg(web.join("src/app.ts"))
        .args(["--bundle", "--splitting", "--format=esm", "--minify", "--target=es2022", "--charset=utf8"])
        .arg("--chunk-names=chunks/[name]-[hash]")
        .arg(format!("--outdir={}", built.display()))
        // The packages live outside the source tree.
        .env("NODE_PATH", packages.join("node_modules"));
    run(&mut bundle, "esbuild");
    for file in ["style.css", "index.html"] {
        std::fs::copy(web.join("static").join(file), built.join(file)).expect("copy a static file");
    }

    // The table of embedded files.
    let mut files = Vec::new();
    collect(&built, &built, &mut files);
    files.sort();
    let mut table = String::from("/// Every file of the built pages: its path under `/assets/` and its bytes.\n");
    table.push_str("pub(crate) static ASSETS: &[(&str, &[u8])] = &[\n");
    for relative in &files {
        let path = built.join(relative);
        table.push_str(&format!("    ({relative:?}, include_bytes!({:?})),\n", path.display().to_string()));
    }
    table.push_str("];\n");
    std::fs::write(out.join("web_assets.rs"), table).expect("write web_assets.rs");
}

fn collect(root: &Path, folder: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(folder).expect("read the built pages") {
        let path = entry.expect("read the built pages").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).expect("under the root");
            files.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn run(command: &mut Command, name: &str) {
    match command.status() {
        Ok(status) if status.success() => {}
        Ok(status) => panic!("{name} failed ({status}) while building the web pages (cloud/web)"),
        Err(error) => panic!(
            "could not run {name} ({error}): building 3dgpt-cloud's web pages needs Node.js 18 or newer and npm \
             (Debian: apt-get install nodejs npm)"
        ),
    }
}
