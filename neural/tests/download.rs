//! Installing a model by download, against a small HTTP server on loopback (range requests, a
//! connection cut mid-file, missing files, wrong bytes). Nothing here reaches the internet.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use threedgpt_neural::store::{ModelStore, StoreError};

/// Serves `files` by path; the first request for a file is cut after `cut_after` bytes when set.
/// Records the `Range` header of every request.
struct Server {
    url: String,
    ranges: Arc<Mutex<Vec<Option<String>>>>,
}

fn serve(files: HashMap<String, Vec<u8>>, cut_after: Option<usize>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let seen = ranges.clone();
    std::thread::spawn(move || {
        let mut first = true;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let mut range = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("range:") {
                    range = Some(value.trim().to_owned());
                }
            }
            seen.lock().unwrap().push(range.clone());
            let Some(body) = files.get(path.trim_start_matches('/')) else {
                let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                continue;
            };
            let start: usize = range
                .as_deref()
                .and_then(|range| range.strip_prefix("bytes="))
                .and_then(|range| range.trim_end_matches('-').parse().ok())
                .unwrap_or(0);
            let status = if start > 0 { "206 Partial Content" } else { "200 OK" };
            let part = &body[start..];
            let header = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
                part.len(),
                body.len() - 1,
                body.len()
            );
            let _ = stream.write_all(header.as_bytes());
            let send = match cut_after {
                Some(cut) if first => &part[..cut.min(part.len())],
                _ => part,
            };
            first = false;
            let _ = stream.write_all(send);
            let _ = stream.flush();
        }
    });
    Server { url, ranges }
}

/// A one-file segmentation model's manifest for `bytes`.
fn manifest(folder: &Path, bytes: &[u8]) -> PathBuf {
    let sha: String = Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect();
    let text = format!(
        r#"name = "downloaded"
kind = "segmentation"
license = "MIT"
source = "test"
[input]
size = 8
channels = "rgb"
range = [0.0, 1.0]
mean = [0.5, 0.5, 0.5]
std = [0.5, 0.5, 0.5]
[[files]]
role = "model"
path = "model.onnx"
size = {}
sha256 = "{sha}"
"#,
        bytes.len()
    );
    let path = folder.join("downloaded.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn payload() -> Vec<u8> {
    (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

#[test]
fn an_interrupted_download_resumes_where_it_stopped() {
    let bytes = payload();
    let server = serve(HashMap::from([("model.onnx".to_owned(), bytes.clone())]), Some(100_000));
    let folder = tempfile::tempdir().unwrap();
    let store = ModelStore::new(folder.path().join("models"));
    let manifest = manifest(folder.path(), &bytes);
    let url = format!("{}/model.onnx", server.url);

    let error = store.install_from_url(&manifest, Some(&url), &mut |_, _| {}).unwrap_err();
    assert!(matches!(error, StoreError::Download { .. }), "{error}");
    assert!(error.to_string().contains("run the same command again to resume"), "{error}");
    assert!(store.list().is_empty(), "nothing is installed by a failed download");
    let partial = std::fs::read_dir(folder.path().join("models/.downloads")).unwrap().next().unwrap().unwrap().path();
    let kept = std::fs::metadata(partial.join("model.onnx")).unwrap().len();
    assert!(kept > 0 && kept < bytes.len() as u64, "{kept}");

    let mut seen = Vec::new();
    let installed = store.install_from_url(&manifest, Some(&url), &mut |done, total| seen.push((done, total))).unwrap();
    assert_eq!(server.ranges.lock().unwrap().last().unwrap().as_deref(), Some(format!("bytes={kept}-").as_str()));
    assert_eq!(std::fs::read(installed.folder.join("model.onnx")).unwrap(), bytes);
    assert_eq!(seen.last(), Some(&(bytes.len() as u64, bytes.len() as u64)));
    assert!(!partial.exists(), "the download is removed once installed");
    store.verify("downloaded").unwrap();
}

#[test]
fn missing_files_and_wrong_bytes_are_refused_clearly() {
    let bytes = payload();
    let mut wrong = bytes.clone();
    wrong[1234] ^= 0x55;
    let server = serve(HashMap::from([("model.onnx".to_owned(), wrong)]), None);
    let folder = tempfile::tempdir().unwrap();
    let store = ModelStore::new(folder.path().join("models"));
    let manifest = manifest(folder.path(), &bytes);

    let missing = store.install_from_url(&manifest, Some(&format!("{}/nothing.onnx", server.url)), &mut |_, _| {});
    assert!(missing.unwrap_err().to_string().contains("HTTP 404"));

    let error = store.install_from_url(&manifest, Some(&format!("{}/", server.url)), &mut |_, _| {}).unwrap_err();
    assert!(matches!(error, StoreError::Checksum { .. }) && error.to_string().contains("SHA-256"), "{error}");
    assert!(store.list().is_empty());
    let downloads = folder.path().join("models/.downloads");
    assert_eq!(std::fs::read_dir(downloads).unwrap().count(), 0, "a wrong file is not kept to resume");

    let no_url = store.install_from_url(&manifest, None, &mut |_, _| {}).unwrap_err();
    assert!(no_url.to_string().contains("gives no URL"), "{no_url}");
}
