//! Malformed requests straight at the socket with a raw gRPC client, property-based over the
//! request's fields: every request gets an answer or a status, and the daemon never dies.
#![cfg(unix)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use proptest::prelude::*;
use threedgpt_proto::v1;
use threedgpt_proto::v1::generator_client::GeneratorClient;
use threedgpt_proto::v1::system_client::SystemClient;
use tonic::transport::{Channel, Endpoint, Uri};

const BINARY: &str = env!("CARGO_BIN_EXE_3dgpt");

async fn channel(socket: PathBuf) -> Channel {
    for _ in 0..200 {
        let socket = socket.clone();
        let connected = Endpoint::from_static("http://localhost")
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let socket = socket.clone();
                async move { Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(socket).await?)) }
            }))
            .await;
        if let Ok(channel) = connected {
            return channel;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the daemon did not come up");
}

fn request_strategy() -> impl Strategy<Value = Vec<v1::GenerateRequest>> {
    let options = (
        any::<u32>(),
        prop_oneof![Just(0u32), Just(256), Just(1024), any::<u32>()],
        prop_oneof![Just(0.0f32), Just(f32::NAN), Just(-1.0), Just(0.85), any::<f32>()],
        -2i32..5,
        proptest::collection::vec(any::<u8>(), 0..64),
        prop_oneof![Just(0.0f32), Just(f32::INFINITY), any::<f32>()],
        prop_oneof![Just(0u32), Just(16), Just(64), any::<u32>()],
        prop_oneof![Just(String::new()), Just("relief".to_owned()), ".*"],
        -2i32..8,
    )
        .prop_map(|(faces, texture_size, foreground_ratio, background, mask, thickness, grid, model, format)| {
            // Zero stands for "unset", so both shapes of every field are tried.
            let set = |value: u32| (value != 0).then_some(value);
            let set_float = |value: f32| (value != 0.0).then_some(value);
            v1::GenerateOptions {
                faces: set(faces),
                texture_size: set(texture_size),
                foreground_ratio: set_float(foreground_ratio),
                background,
                mask,
                thickness: set_float(thickness),
                size_m: None,
                grid: set(grid % 200),
                // A model name in each of the three roles.
                background_model: if format % 3 == 1 { model.clone() } else { String::new() },
                depth_model: if format % 3 == 2 { model.clone() } else { String::new() },
                model,
                // Unknown values too (negative, 3, 4).
                device: format % 5,
                format,
                reproducible: false,
                // Known and unknown names.
                shape: ["", "revolve", "cube"][(grid % 3) as usize].to_owned(),
                origin: ["", "center", "top"][(faces % 3) as usize].to_owned(),
            }
        });
    let image = prop_oneof![
        Just(None),
        ".*".prop_map(|path| Some(v1::generate_request::Image::Path(path))),
        proptest::collection::vec(any::<u8>(), 0..256)
            .prop_map(|bytes| Some(v1::generate_request::Image::Chunk(bytes))),
    ];
    let output = prop_oneof![
        Just(String::new()),
        Just("relative.glb".to_owned()),
        Just("/nonexistent-dir/x.glb".to_owned()),
        ".*"
    ];
    let mask_chunk = proptest::collection::vec(any::<u8>(), 0..64);
    (proptest::option::of(options), image, output, any::<bool>(), 0usize..3, mask_chunk).prop_map(
        |(options, image, output_path, detach, extra, mask_chunk)| {
            let first = v1::GenerateRequest {
                options,
                image,
                name: "fuzz".to_owned(),
                output_path,
                detach,
                mask_chunk,
                ..Default::default()
            };
            let mut messages = vec![first.clone(); extra + 1];
            messages.truncate(extra + 1);
            messages
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_daemon_answers_every_malformed_request_and_stays_up(requests in proptest::collection::vec(request_strategy(), 1..4)) {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(BINARY)
            .args(["serve", "--foreground", "--idle-timeout", "0"])
            .env("THREEDGPT_RUNTIME_DIR", dir.path())
            .env("THREEDGPT_DATA_DIR", dir.path().join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let alive = runtime.block_on(async {
            let channel = channel(dir.path().join("daemon.sock")).await;
            for messages in requests {
                let mut client = GeneratorClient::new(channel.clone());
                // Whatever the answer, read the stream to its end (or its error).
                if let Ok(response) = client.generate(tokio_stream::iter(messages)).await {
                    let mut stream = response.into_inner();
                    let _ = tokio::time::timeout(Duration::from_secs(60), async {
                        while let Ok(Some(_)) = stream.message().await {}
                    })
                    .await;
                }
                let _ = client.cancel(v1::CancelRequest { job_id: "nonsense".to_owned() }).await;
                let _ = client.watch(v1::WatchRequest { job_id: String::new() }).await;
            }
            SystemClient::new(channel).info(v1::InfoRequest {}).await.is_ok()
        });
        let still_running = child.try_wait().unwrap().is_none();
        let _ = child.kill();
        let _ = child.wait();
        prop_assert!(alive && still_running, "the daemon died or stopped answering");
    }
}
