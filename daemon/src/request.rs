//! Reading a `Generate` call's messages into what a job needs, with no I/O: the first message's
//! checks, the picture's and the mask's chunks put together within their limits, and the options
//! turned into validated engine options. The daemon's service runs it on every call (reading
//! files and counting bytes against its budget around it); the fuzz target `request` runs it on
//! arbitrary bytes, and the test suite replays that target's corpus.

use std::path::{Path, PathBuf};

use threedgpt_engine::{Background, Format, Options, Origin, Shape, Side};
use threedgpt_options::{self as table, Role, Spec};
use threedgpt_proto::v1;

/// The largest picture (and mask) accepted, streamed or read from a file.
pub const MAX_IMAGE_BYTES: usize = 256 << 20;

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The request is malformed or an option is out of range; the sentence says which and why.
    #[error("{0}")]
    Invalid(String),
    /// The request names a model this daemon does not have.
    #[error("no {} model {name:?} is installed; `3dgpt models list` shows the installed models and their roles", role.name())]
    UnknownModel {
        /// What the model was to do.
        role: Role,
        /// The name asked for.
        name: String,
    },
}

fn invalid(message: impl Into<String>) -> RequestError {
    RequestError::Invalid(message.into())
}

/// Where the picture comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picture {
    /// A file the daemon reads (as the same user).
    Path(String),
    /// Bytes sent in the call, put together chunk by chunk.
    Bytes(Vec<u8>),
}

/// A `Generate` call as its messages arrive.
#[derive(Debug)]
pub struct Upload {
    /// The picture's name in records and errors.
    pub name: String,
    /// The picture.
    pub picture: Picture,
    /// The options, with `mask` holding every mask byte received so far.
    pub options: v1::GenerateOptions,
    /// Where the asset goes; `None` keeps it in the history only.
    pub output: Option<PathBuf>,
    /// The job goes on when the client goes away.
    pub detach: bool,
    /// Pictures from the object's other sides, at most one per side.
    pub views: Vec<ViewUpload>,
    /// The picture is a turnaround sheet.
    pub sheet: bool,
}

/// A picture from another side than the front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewUpload {
    /// Where its camera was.
    pub side: Side,
    /// Its name in errors (its path, or the name sent with its bytes).
    pub name: String,
    /// The picture.
    pub picture: Picture,
}

/// Reads the first message's views: known sides, one picture each, each a path or whole bytes.
fn views_of(views: Vec<v1::ViewPicture>, sheet: bool) -> Result<Vec<ViewUpload>, RequestError> {
    if sheet && !views.is_empty() {
        return Err(invalid(
            "a turnaround sheet holds its own views; send either a sheet or the front with its other views",
        ));
    }
    let mut read: Vec<ViewUpload> = Vec::with_capacity(views.len());
    let names = Side::ALL.map(Side::name).join(", ");
    for view in views {
        let side = Side::from_name(&view.side)
            .ok_or_else(|| invalid(format!("a view's side must be one of {names}, got {:?}", view.side)))?;
        if read.iter().any(|other| other.side == side) {
            return Err(invalid(format!("two {} views were sent; send one picture per side", side.name())));
        }
        let (name, picture) = match view.image {
            Some(v1::view_picture::Image::Path(path)) => {
                if path.is_empty() || path.contains('\0') {
                    return Err(invalid(format!("the {} view's path {path:?} is not a file name", side.name())));
                }
                (path.clone(), Picture::Path(path))
            }
            Some(v1::view_picture::Image::Data(bytes)) => {
                if bytes.len() > MAX_IMAGE_BYTES {
                    return Err(too_large(&format!("{} view", side.name())));
                }
                let name = if view.name.is_empty() { format!("{}.png", side.name()) } else { view.name };
                (name, Picture::Bytes(bytes))
            }
            None => {
                return Err(invalid(format!("the {} view carries no picture: send a path or its bytes", side.name())));
            }
        };
        read.push(ViewUpload { side, name, picture });
    }
    Ok(read)
}

impl Upload {
    /// Starts from the first message; also returns how many bytes it holds (for the budget).
    pub fn start(first: v1::GenerateRequest) -> Result<(Upload, usize), RequestError> {
        let output = (!first.output_path.is_empty()).then(|| PathBuf::from(&first.output_path));
        if output.as_ref().is_some_and(|path| !path.is_absolute()) {
            return Err(invalid(format!("output_path must be an absolute path, got {:?}", first.output_path)));
        }
        let (name, picture) = match first.image {
            Some(v1::generate_request::Image::Path(path)) => {
                if path.is_empty() || path.contains('\0') {
                    return Err(invalid(format!("the picture's path {path:?} is not a file name")));
                }
                (path.clone(), Picture::Path(path))
            }
            Some(v1::generate_request::Image::Chunk(bytes)) => {
                let name = if first.name.is_empty() { "image".to_owned() } else { first.name };
                (name, Picture::Bytes(bytes))
            }
            None => return Err(invalid("the first message must carry the image: a path or a first chunk")),
        };
        let views = views_of(first.views, first.sheet)?;
        let mut upload = Upload {
            name,
            picture,
            options: first.options.unwrap_or_default(),
            output,
            detach: first.detach,
            views,
            sheet: first.sheet,
        };
        let mut held = upload.options.mask.len();
        for view in &upload.views {
            if let Picture::Bytes(bytes) = &view.picture {
                held += bytes.len();
            }
        }
        if let Picture::Bytes(bytes) = &upload.picture {
            if bytes.len() > MAX_IMAGE_BYTES {
                return Err(too_large("image"));
            }
            held += bytes.len();
        }
        if upload.options.mask.len() > MAX_IMAGE_BYTES {
            return Err(too_large("mask"));
        }
        held += upload.add_mask(first.mask_chunk)?;
        Ok((upload, held))
    }

    /// Takes a further message: more of the picture (when sent as bytes) and of the mask. Returns
    /// how many bytes it added.
    pub fn add(&mut self, part: v1::GenerateRequest) -> Result<usize, RequestError> {
        if !part.views.is_empty() || part.sheet {
            return Err(invalid("only the first message may carry the views or say the picture is a sheet"));
        }
        let mut added = 0;
        match (part.image, &mut self.picture) {
            (None, _) => {}
            (Some(v1::generate_request::Image::Chunk(chunk)), Picture::Bytes(bytes)) => {
                if bytes.len() + chunk.len() > MAX_IMAGE_BYTES {
                    return Err(too_large("image"));
                }
                added += chunk.len();
                bytes.extend_from_slice(&chunk);
            }
            (Some(v1::generate_request::Image::Chunk(_)), Picture::Path(_)) => {
                return Err(invalid("image chunks cannot follow an image given by path"));
            }
            (Some(v1::generate_request::Image::Path(_)), _) => {
                return Err(invalid("only the first message may name the image's path"));
            }
        }
        Ok(added + self.add_mask(part.mask_chunk)?)
    }

    fn add_mask(&mut self, chunk: Vec<u8>) -> Result<usize, RequestError> {
        if self.options.mask.len() + chunk.len() > MAX_IMAGE_BYTES {
            return Err(too_large("mask"));
        }
        self.options.mask.extend_from_slice(&chunk);
        Ok(chunk.len())
    }
}

fn too_large(what: &str) -> RequestError {
    invalid(format!(
        "the {what} is larger than {} MiB; downscale it (or pass the picture by path, a mask as a grey PNG)",
        MAX_IMAGE_BYTES >> 20
    ))
}

/// The device a request asks for.
pub fn device(options: &v1::GenerateOptions) -> Result<v1::Device, RequestError> {
    v1::Device::try_from(options.device).map_err(|_| invalid(format!("unknown device value {}", options.device)))
}

/// The learned models a request names, by role, leaving out the built-in reconstructor; an error
/// for a model named where the request cannot use one.
pub fn named_models(request: &v1::GenerateOptions) -> Result<Vec<(Role, String)>, RequestError> {
    let mut named = Vec::new();
    if !request.model.is_empty() && request.model != table::RELIEF {
        named.push((Role::Reconstructor, request.model.clone()));
    }
    if !request.background_model.is_empty() {
        if v1::Background::try_from(request.background) != Ok(v1::Background::Auto) {
            return Err(invalid(format!(
                "background model {:?} was named with another background choice; name one of them",
                request.background_model
            )));
        }
        named.push((Role::Segmentation, request.background_model.clone()));
    }
    if !request.depth_model.is_empty() {
        named.push((Role::Depth, request.depth_model.clone()));
    }
    Ok(named)
}

/// Turns request options (unset = the option table's default) into validated engine options and
/// the output format. Models are not looked at here: [`named_models`] lists them.
pub fn engine_options(request: v1::GenerateOptions, output: &Path) -> Result<(Options, Format), RequestError> {
    let background = match v1::Background::try_from(request.background) {
        Ok(v1::Background::Auto) => Background::Auto,
        Ok(v1::Background::Keep) => Background::Keep,
        Ok(v1::Background::Builtin) => Background::Builtin,
        Ok(v1::Background::Mask) => {
            if request.mask.is_empty() {
                return Err(invalid("background is MASK but no mask image was sent"));
            }
            Background::Mask { name: "mask".to_owned(), bytes: request.mask }
        }
        Err(_) => return Err(invalid(format!("unknown background value {}", request.background))),
    };
    let int = |spec: &'static Spec, value: Option<u32>| -> Result<u32, RequestError> {
        let range = spec.int();
        value.map_or(Ok(range.default), |value| range.check(value)).map_err(|reason| option_error(spec, reason))
    };
    let float = |spec: &'static Spec, value: Option<f32>| -> Result<f32, RequestError> {
        let range = spec.float();
        value.map_or(Ok(range.default), |value| range.check(value)).map_err(|reason| option_error(spec, reason))
    };
    let choice = |spec: &'static Spec, value: &str| -> Result<&'static str, RequestError> {
        let choices = spec.choices();
        if value.is_empty() {
            return Ok(choices.default);
        }
        choices.check(value).map(|choice| choice.name).map_err(|reason| option_error(spec, reason))
    };
    let shape = Shape::from_name(choice(&table::SHAPE, &request.shape)?).unwrap_or_default();
    let origin = Origin::from_name(choice(&table::ORIGIN, &request.origin)?).unwrap_or_default();
    let options = Options::default()
        .with_background(background)
        .with_shape(shape)
        .with_origin(origin)
        .with_target_faces(int(&table::FACES, request.faces)?)
        .with_texture_px(int(&table::TEXTURE_SIZE, request.texture_size)?)
        .with_foreground_ratio(float(&table::FOREGROUND_RATIO, request.foreground_ratio)?)
        .with_thickness(float(&table::THICKNESS, request.thickness)?)
        .with_size_m(float(&table::SIZE, request.size_m)?)
        .with_grid_px(int(&table::GRID, request.grid)?)
        .with_reproducible(request.reproducible);
    options.validate().map_err(|error| invalid(error.to_string()))?;
    let from_extension = output.extension().and_then(|extension| extension.to_str()).and_then(Format::from_extension);
    let format = match v1::Format::try_from(request.format) {
        Ok(v1::Format::Unspecified) => from_extension.unwrap_or_default(),
        Ok(v1::Format::Glb) => Format::Glb,
        Ok(v1::Format::Gltf) => Format::Gltf,
        Ok(v1::Format::Obj) => Format::Obj,
        Ok(v1::Format::Stl) => Format::Stl,
        Ok(v1::Format::Ply) => Format::Ply,
        Err(_) => return Err(invalid(format!("unknown format value {}", request.format))),
    };
    Ok((options, format))
}

fn option_error(spec: &Spec, reason: String) -> RequestError {
    invalid(format!("invalid option {}: {reason}", spec.name))
}

/// Runs a whole call's messages through [`Upload`], [`named_models`] and [`engine_options`], as the
/// daemon would (short of loading the models): what the fuzz target and its corpus replay
/// exercise. `Ok` carries the bytes held.
pub fn check_messages(messages: Vec<v1::GenerateRequest>) -> Result<usize, RequestError> {
    let mut messages = messages.into_iter();
    let first = messages.next().ok_or_else(|| invalid("the request stream was empty; send options and an image"))?;
    let (mut upload, mut held) = Upload::start(first)?;
    for part in messages {
        held += upload.add(part)?;
    }
    device(&upload.options)?;
    named_models(&upload.options)?;
    engine_options(upload.options, upload.output.as_deref().unwrap_or(Path::new("")))?;
    Ok(held)
}

/// Splits fuzz input into the messages of one call: each a little-endian `u16` length and that
/// many bytes of an encoded `GenerateRequest`. Messages that do not decode are left out.
pub fn messages_from_bytes(data: &[u8]) -> Vec<v1::GenerateRequest> {
    use prost::Message;
    let mut messages = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let length = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        if let Ok(message) = v1::GenerateRequest::decode(&rest[2..2 + length]) {
            messages.push(message);
        }
        rest = &rest[2 + length..];
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An absolute path on this platform.
    fn absolute(name: &str) -> String {
        if cfg!(windows) { format!(r"C:\tmp\{name}") } else { format!("/tmp/{name}") }
    }

    fn first(image: Option<v1::generate_request::Image>) -> v1::GenerateRequest {
        v1::GenerateRequest { image, output_path: absolute("x.glb"), ..Default::default() }
    }

    #[test]
    fn views_name_known_sides_once_each_and_count_against_the_budget() {
        let view = |side: &str, image| v1::ViewPicture { side: side.to_owned(), image, name: String::new() };
        let path = |path: &str| Some(v1::view_picture::Image::Path(path.to_owned()));
        let with = |views: Vec<v1::ViewPicture>, sheet: bool| {
            Upload::start(v1::GenerateRequest {
                views,
                sheet,
                ..first(Some(v1::generate_request::Image::Path("/front.png".into())))
            })
        };
        let (upload, held) = with(
            vec![view("right", path("/right.png")), view("back", Some(v1::view_picture::Image::Data(vec![1; 9])))],
            false,
        )
        .unwrap();
        assert_eq!(held, 9);
        assert_eq!(
            upload.views[0],
            ViewUpload { side: Side::Right, name: "/right.png".into(), picture: Picture::Path("/right.png".into()) }
        );
        assert_eq!(upload.views[1].name, "back.png");
        let refused = |views, sheet| with(views, sheet).unwrap_err().to_string();
        assert!(refused(vec![view("side", path("/a.png"))], false).contains("one of right, back, left, top"));
        assert!(
            refused(vec![view("top", path("/a.png")), view("top", path("/b.png"))], false).contains("two top views")
        );
        assert!(refused(vec![view("left", None)], false).contains("left view carries no picture"));
        assert!(refused(vec![view("left", path("/a.png"))], true).contains("either a sheet"));
        let (mut upload, _) = with(Vec::new(), true).unwrap();
        assert!(upload.sheet);
        let late = v1::GenerateRequest { views: vec![view("right", path("/r.png"))], ..Default::default() };
        assert!(upload.add(late).unwrap_err().to_string().contains("only the first message"));
    }

    #[test]
    fn chunks_are_put_together_and_their_order_rules_hold() {
        let (mut upload, held) = Upload::start(v1::GenerateRequest {
            mask_chunk: vec![1; 3],
            ..first(Some(v1::generate_request::Image::Chunk(vec![7; 5])))
        })
        .unwrap();
        assert_eq!(held, 8);
        let more = v1::GenerateRequest {
            image: Some(v1::generate_request::Image::Chunk(vec![8; 2])),
            mask_chunk: vec![2],
            ..Default::default()
        };
        assert_eq!(upload.add(more).unwrap(), 3);
        assert_eq!(upload.picture, Picture::Bytes(vec![7, 7, 7, 7, 7, 8, 8]));
        assert_eq!(upload.options.mask, vec![1, 1, 1, 2]);
        let path =
            v1::GenerateRequest { image: Some(v1::generate_request::Image::Path("/a".into())), ..Default::default() };
        assert!(upload.add(path).unwrap_err().to_string().contains("only the first message"));

        let (mut by_path, _) = Upload::start(first(Some(v1::generate_request::Image::Path("/a.png".into())))).unwrap();
        let chunk =
            v1::GenerateRequest { image: Some(v1::generate_request::Image::Chunk(vec![1])), ..Default::default() };
        assert!(by_path.add(chunk).unwrap_err().to_string().contains("cannot follow an image given by path"));
        assert!(Upload::start(first(None)).unwrap_err().to_string().contains("must carry the image"));
        let relative = v1::GenerateRequest {
            output_path: "x.glb".into(),
            ..first(Some(v1::generate_request::Image::Path("/a".into())))
        };
        assert!(Upload::start(relative).unwrap_err().to_string().contains("absolute"));
    }

    #[test]
    fn options_out_of_range_or_unknown_are_refused_with_a_sentence() {
        let check = |options: v1::GenerateOptions| engine_options(options, Path::new(&absolute("x.glb")));
        assert!(check(v1::GenerateOptions::default()).is_ok());
        assert!(
            check(v1::GenerateOptions { faces: Some(7), ..Default::default() })
                .unwrap_err()
                .to_string()
                .contains("faces: 7 is outside 100..=5000000")
        );
        assert!(
            check(v1::GenerateOptions { texture_size: Some(0), ..Default::default() })
                .unwrap_err()
                .to_string()
                .contains("texture_size")
        );
        let models = v1::GenerateOptions {
            model: "big".into(),
            background_model: "cut".into(),
            depth_model: "deep".into(),
            ..Default::default()
        };
        assert_eq!(
            named_models(&models).unwrap(),
            [(Role::Reconstructor, "big".into()), (Role::Segmentation, "cut".into()), (Role::Depth, "deep".into())]
        );
        let both = v1::GenerateOptions { background: 1, background_model: "cut".into(), ..Default::default() };
        assert!(named_models(&both).unwrap_err().to_string().contains("name one of them"));
        assert!(
            named_models(&v1::GenerateOptions { model: "relief".into(), ..Default::default() }).unwrap().is_empty()
        );
        assert!(
            check(v1::GenerateOptions { format: 99, ..Default::default() }).unwrap_err().to_string().contains("format")
        );
        assert!(
            check(v1::GenerateOptions { background: 2, ..Default::default() })
                .unwrap_err()
                .to_string()
                .contains("no mask")
        );
    }

    /// Seeds for the fuzz target: calls as clients make them, and a few broken ones.
    fn seeds() -> Vec<(&'static str, Vec<v1::GenerateRequest>)> {
        use v1::generate_request::Image;
        let options = |faces, background, format| v1::GenerateOptions {
            faces: Some(faces),
            background,
            format,
            texture_size: Some(256),
            grid: Some(64),
            ..Default::default()
        };
        let path = |path: &str| Some(Image::Path(path.to_owned()));
        let chunk = |bytes: &[u8]| Some(Image::Chunk(bytes.to_vec()));
        // Outputs named with a leading '/' are absolute (on Windows, under C:\).
        let message = |options: Option<v1::GenerateOptions>, image, output: &str| v1::GenerateRequest {
            options,
            image,
            output_path: match output.strip_prefix('/') {
                Some(name) if cfg!(windows) => absolute(name),
                _ => output.to_owned(),
            },
            name: "duck.png".to_owned(),
            ..Default::default()
        };
        vec![
            ("by-path", vec![message(Some(options(2000, 0, 1)), path("/home/ada/duck.png"), "/tmp/duck.glb")]),
            ("history-only", vec![message(None, path("/home/ada/duck.png"), "")]),
            (
                "chunks",
                vec![
                    message(Some(options(800, 1, 2)), chunk(b"\x89PNG\r\n\x1a\n"), "/tmp/a.gltf"),
                    v1::GenerateRequest { image: chunk(&[0; 64]), ..Default::default() },
                ],
            ),
            (
                "mask-chunks",
                vec![
                    v1::GenerateRequest {
                        mask_chunk: vec![1; 16],
                        ..message(Some(options(3000, 2, 3)), chunk(b"x"), "/o.obj")
                    },
                    v1::GenerateRequest { mask_chunk: vec![2; 16], ..Default::default() },
                ],
            ),
            ("bad-faces", vec![message(Some(options(3, 0, 0)), path("/a.png"), "/a.glb")]),
            ("bad-format", vec![message(Some(options(2000, 0, 9)), path("/a.png"), "/a.glb")]),
            ("mask-missing", vec![message(Some(options(2000, 2, 0)), path("/a.png"), "/a.glb")]),
            ("relative-output", vec![message(None, path("/a.png"), "a.glb")]),
            ("no-image", vec![message(None, None, "/a.glb")]),
            ("path-then-chunk", vec![message(None, path("/a.png"), "/a.glb"), message(None, chunk(b"y"), "")]),
            (
                "model-and-device",
                vec![message(
                    Some(v1::GenerateOptions { background_model: "tiny".into(), device: 2, ..Default::default() }),
                    path("/a.png"),
                    "/a.stl",
                )],
            ),
            (
                "bad-device",
                vec![message(Some(v1::GenerateOptions { device: 7, ..Default::default() }), path("/a.png"), "/a.ply")],
            ),
        ]
    }

    fn encode(messages: &[v1::GenerateRequest]) -> Vec<u8> {
        use prost::Message;
        let mut data = Vec::new();
        for message in messages {
            let bytes = message.encode_to_vec();
            data.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            data.extend_from_slice(&bytes);
        }
        data
    }

    /// The fuzz target's corpus (fuzz/corpus/request), replayed: every input gets an answer, none
    /// panics, and the inputs that found bugs keep being checked. `UPDATE_FUZZ_CORPUS=1` writes
    /// the seeds into it.
    #[test]
    fn the_fuzz_corpus_is_answered_without_a_panic() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/request");
        for (name, messages) in seeds() {
            let data = encode(&messages);
            assert_eq!(messages_from_bytes(&data), messages, "{name}: the framing round-trips");
            if std::env::var_os("UPDATE_FUZZ_CORPUS").is_some() {
                std::fs::create_dir_all(&corpus).unwrap();
                std::fs::write(corpus.join(format!("seed-{name}")), &data).unwrap();
            }
        }
        let outcome =
            |name: &str| seeds().into_iter().find(|(seed, _)| *seed == name).map(|(_, m)| check_messages(m)).unwrap();
        assert!(outcome("by-path").is_ok() && outcome("chunks").is_ok() && outcome("mask-chunks").is_ok());
        assert!(outcome("bad-faces").is_err() && outcome("path-then-chunk").is_err() && outcome("bad-device").is_err());
        let inputs: Vec<_> = std::fs::read_dir(&corpus)
            .unwrap_or_else(|error| panic!("{}: {error}", corpus.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        assert!(inputs.len() >= 20, "the corpus at {} is missing", corpus.display());
        let mut accepted = 0;
        for input in inputs {
            let data = std::fs::read(&input).unwrap();
            if check_messages(messages_from_bytes(&data)).is_ok() {
                accepted += 1;
            }
        }
        // The corpus was made on Linux: its absolute paths are Unix paths.
        if cfg!(unix) {
            assert!(accepted > 0, "no corpus input makes a valid request: the corpus does not reach the options");
        }
    }
}
