//! `3dgpt generate`: images (or folders of images) to assets through the daemon (started when none
//! runs), one bad image never stopping the rest.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use super::UsageError;
use super::progress::{Done, follow, print_warnings, progress_bar};
use super::terminal::{escape, say};
use clap::Args;
use threedgpt_sdk::options::{self as table, Spec};
use threedgpt_sdk::{Background, Device, Format, GenerateOptions, GenerateRequest, ImageSource};

/// Options of `3dgpt generate`. Every option's help, default and range come from the option table
/// the daemon checks against; what the user leaves out is left to the daemon.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  3dgpt generate photo.png -o chair.glb\n  3dgpt generate photos/ -o assets/ --format obj\n  3dgpt generate shot.jpg --mask shot-mask.png --faces 50000 --texture-size 2048\n  3dgpt generate front.png --right right.png --back back.png -o pawn.glb\n  3dgpt generate --views turnaround.png -o knight.glb"
)]
pub(crate) struct GenerateArgs {
    /// Input images (PNG, JPEG, WebP) or folders of them.
    #[arg(required_unless_present = "views", value_name = "IMAGE")]
    images: Vec<PathBuf>,

    /// A picture of the object from its right: taken after moving the camera 90° to your right
    /// around it (it shows the side on the right of the front picture). With one IMAGE, the front.
    #[arg(long, value_name = "FILE")]
    right: Option<PathBuf>,

    /// A picture from the object's left (the camera moved 90° to your left around it).
    #[arg(long, value_name = "FILE")]
    left: Option<PathBuf>,

    /// A picture from behind the object.
    #[arg(long, value_name = "FILE")]
    back: Option<PathBuf>,

    /// A picture from above, the front at the bottom of the picture.
    #[arg(long, value_name = "FILE")]
    top: Option<PathBuf>,

    /// A turnaround sheet instead of IMAGE: the front, right, back and left views side by side, in
    /// that order (two to four of them).
    #[arg(long, value_name = "SHEET", conflicts_with_all = ["images", "right", "left", "back", "top"])]
    views: Option<PathBuf>,

    /// Output file (one image) or folder (several images or a folder). Default: the image's name
    /// with the format's extension, in the current folder.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,

    #[arg(long, value_name = "F", help = help(&table::FORMAT), value_parser = format_parser)]
    format: Option<Format>,

    #[arg(long = "faces", value_name = "N", help = help(&table::FACES), value_parser = int_parser(&table::FACES))]
    faces: Option<u32>,

    #[arg(long = "texture-size", value_name = "N", help = help(&table::TEXTURE_SIZE), value_parser = int_parser(&table::TEXTURE_SIZE))]
    texture_size: Option<u32>,

    #[arg(long = "foreground-ratio", value_name = "R", help = help(&table::FOREGROUND_RATIO), value_parser = float_parser(&table::FOREGROUND_RATIO))]
    foreground_ratio: Option<f32>,

    #[arg(long, value_name = "HOW", help = help(&table::BACKGROUND), conflicts_with_all = ["mask", "keep_background"])]
    background: Option<String>,

    /// The same as `--background keep`.
    #[arg(long = "keep-background", conflicts_with = "mask")]
    keep_background: bool,

    /// Use this mask image (white or opaque = object) instead of finding the object.
    #[arg(long, value_name = "FILE")]
    mask: Option<PathBuf>,

    #[arg(long, value_name = "SHAPE", help = help(&table::SHAPE), value_parser = choice_parser(&table::SHAPE))]
    shape: Option<String>,

    #[arg(long, value_name = "T", help = help(&table::THICKNESS), value_parser = float_parser(&table::THICKNESS))]
    thickness: Option<f32>,

    #[arg(long, value_name = "WHERE", help = help(&table::ORIGIN), value_parser = choice_parser(&table::ORIGIN))]
    origin: Option<String>,

    #[arg(long = "size", value_name = "METRES", help = help(&table::SIZE), value_parser = float_parser(&table::SIZE))]
    size_m: Option<f32>,

    #[arg(long = "grid", value_name = "N", help = help(&table::GRID), value_parser = int_parser(&table::GRID))]
    grid: Option<u32>,

    #[arg(long, help = help(&table::REPRODUCIBLE))]
    reproducible: bool,

    #[arg(long, value_name = "NAME", help = help(&table::MODEL))]
    model: Option<String>,

    #[arg(long, value_name = "MODEL", help = help(&table::DEPTH))]
    depth: Option<String>,

    #[arg(long, value_name = "DEVICE", help = help(&table::DEVICE), value_parser = parse_device)]
    device: Option<Device>,

    /// Queue the work and print the job ids instead of waiting (follow them with `3dgpt jobs watch`).
    #[arg(long)]
    detach: bool,

    /// Print one JSON record per asset on standard output (for scripts and pipelines).
    #[arg(long)]
    json: bool,
}

/// An option's help line: its description, then its default and range or choices.
pub(crate) fn help(spec: &Spec) -> String {
    format!("{} [{}]", spec.description, spec.summary())
}

fn int_parser(spec: &'static Spec) -> impl Fn(&str) -> Result<u32, String> + Clone + Send + Sync + 'static {
    move |text| {
        let value = text.parse::<u32>().map_err(|_| format!("{text:?} is not a whole number"))?;
        spec.int().check(value)
    }
}

fn float_parser(spec: &'static Spec) -> impl Fn(&str) -> Result<f32, String> + Clone + Send + Sync + 'static {
    move |text| {
        let value = text.parse::<f32>().map_err(|_| format!("{text:?} is not a number"))?;
        spec.float().check(value)
    }
}

fn choice_parser(spec: &'static Spec) -> impl Fn(&str) -> Result<String, String> + Clone + Send + Sync + 'static {
    move |text| {
        let choices = spec.choices();
        let names = choices.names();
        let (last, others) = names.split_last().unwrap_or((&"", &[]));
        choices
            .fixed(text)
            .map(|choice| choice.name.to_owned())
            .ok_or_else(|| format!("{text:?} is not a {}; use {} or {last}", spec.name, others.join(", ")))
    }
}

fn format_parser(text: &str) -> Result<Format, String> {
    text.parse::<Format>().map_err(|error| error.to_string())
}

fn parse_device(name: &str) -> Result<Device, String> {
    let names = table::DEVICE.choices().names();
    let (last, others) = names.split_last().unwrap_or((&"", &[]));
    Device::from_name(name).ok_or_else(|| format!("{name:?} is not a device; use {} or {last}", others.join(", ")))
}

/// Runs the command; the exit code is 0 when every asset was written, 1 when some failed.
pub(crate) fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let inputs = match &args.views {
        Some(sheet) => vec![sheet.clone()],
        None => expand_inputs(&args.images)?,
    };
    let single = inputs.len() == 1 && args.images.iter().all(|path| !path.is_dir());
    if !single && !side_views(&args).is_empty() {
        return Err(UsageError(
            "--right, --left, --back and --top go with one IMAGE, the front; pass a single IMAGE with them".to_owned(),
        )
        .into());
    }
    let background = match (&args.mask, args.keep_background, &args.background) {
        (Some(mask), _, _) => {
            if !single {
                return Err(UsageError("--mask applies to one image; pass a single IMAGE with it".to_owned()).into());
            }
            Some(Background::Mask(read_mask(mask)?))
        }
        (None, true, _) => Some(Background::Keep),
        (None, false, Some(name)) => Some(Background::from_name(name)),
        (None, false, None) => None,
    };
    let plan = plan_outputs(&inputs, single, args.output.as_deref(), args.format)?;
    let options = sdk_options(&args, background);
    if args.detach {
        return super::runtime()?.block_on(detach_all(&inputs, plan, &args, &options));
    }
    super::runtime()?.block_on(generate_all(&inputs, plan, &args, &options))
}

/// The options the user set, for the SDK; the daemon fills in the rest.
fn sdk_options(args: &GenerateArgs, background: Option<Background>) -> GenerateOptions {
    let mut options = GenerateOptions::default();
    options.faces = args.faces;
    options.texture_size = args.texture_size;
    options.foreground_ratio = args.foreground_ratio;
    options.shape = args.shape.clone();
    options.thickness = args.thickness;
    options.origin = args.origin.clone();
    options.size_m = args.size_m;
    options.grid = args.grid;
    options.model = args.model.clone();
    options.depth = args.depth.clone();
    options.reproducible = args.reproducible;
    if let Some(background) = background {
        options.background = background;
    }
    if let Some(device) = args.device {
        options.device = device;
    }
    options
}

/// The pictures from other sides the user gave, by side name.
fn side_views(args: &GenerateArgs) -> Vec<(&'static str, &Path)> {
    [("right", &args.right), ("left", &args.left), ("back", &args.back), ("top", &args.top)]
        .into_iter()
        .filter_map(|(side, path)| path.as_deref().map(|path| (side, path)))
        .collect()
}

/// The SDK request for one image (with its other views, or as a sheet, when the user gave them).
fn request_for(
    input: &Path,
    output: &Path,
    format: Format,
    options: &GenerateOptions,
    args: &GenerateArgs,
) -> GenerateRequest {
    let mut request = GenerateRequest::new(ImageSource::Path(input.to_path_buf()), output)
        .with_options(options.clone().with_format(format))
        .with_sheet(args.views.is_some());
    for (side, path) in side_views(args) {
        request = request.with_view(side, ImageSource::Path(path.to_path_buf()));
    }
    request
}

async fn detach_all(
    inputs: &[PathBuf],
    plan: Vec<(PathBuf, Format)>,
    args: &GenerateArgs,
    options: &GenerateOptions,
) -> anyhow::Result<ExitCode> {
    let client = super::connect(true).await?;
    let mut failures = 0;
    for (input, (output, format)) in inputs.iter().zip(plan) {
        let request = request_for(input, &output, format, options, args).with_detach(true);
        let queued = match client.generate(request).await {
            Ok(mut events) => match events.next().await {
                Some(Ok(event)) => Ok(event.job_id().to_owned()),
                Some(Err(error)) => Err(error.to_string()),
                None => Err("the daemon closed the request without queueing it".to_owned()),
            },
            Err(error) => Err(error.to_string()),
        };
        match queued {
            Ok(job_id) if args.json => say!(
                "{}",
                serde_json::json!({"input": input.display().to_string(), "ok": true, "job_id": job_id, "output": output.display().to_string()})
            ),
            Ok(job_id) => say!("{}", escape(&job_id)),
            Err(message) => {
                failures += 1;
                report_failure(input, &message, args.json);
            }
        }
    }
    Ok(if failures == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn generate_all(
    inputs: &[PathBuf],
    plan: Vec<(PathBuf, Format)>,
    args: &GenerateArgs,
    options: &GenerateOptions,
) -> anyhow::Result<ExitCode> {
    let client = super::connect(true).await?;
    let show_progress = !args.json && std::io::stderr().is_terminal();
    let mut failures = 0usize;
    let mut interrupted = false;
    for (input, (output, format)) in inputs.iter().zip(plan) {
        if interrupted {
            break;
        }
        let request = request_for(input, &output, format, options, args);
        let bar = progress_bar(input, show_progress);
        let outcome = match client.generate(request).await {
            Ok(events) => follow(&client, events, &bar, &mut interrupted).await,
            Err(error) => Err(error.to_string()),
        };
        bar.finish_and_clear();
        match outcome {
            Ok(Done { record, files, warnings, generation_id }) => {
                print_warnings(&warnings, &bar);
                if args.json {
                    let line = serde_json::json!({
                        "input": input.display().to_string(),
                        "ok": true,
                        "format": format.to_string(),
                        "files": files.iter().map(|path| path.display().to_string()).collect::<Vec<_>>(),
                        "record": record,
                        "warnings": warnings,
                        "generation_id": generation_id,
                    });
                    say!("{line}");
                } else {
                    let faces = record.get("faces").and_then(|faces| faces.as_u64()).unwrap_or(0);
                    eprintln!(
                        "{} -> {} ({faces} faces)",
                        escape(&input.display().to_string()),
                        escape(&output.display().to_string())
                    );
                }
            }
            Err(message) => {
                failures += 1;
                report_failure(input, &message, args.json);
            }
        }
    }
    if failures > 0 && !args.json && inputs.len() > 1 {
        eprintln!(
            "{failures} of {} images failed; the daemon's log has more detail (`3dgpt serve --foreground`)",
            inputs.len()
        );
    }
    Ok(if failures == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn report_failure(input: &Path, message: &str, json: bool) {
    if json {
        say!("{}", serde_json::json!({"input": input.display().to_string(), "ok": false, "error": message}));
    } else {
        eprintln!("error: {}: {}", escape(&input.display().to_string()), escape(message));
    }
}

/// Reads a mask file the user named: a regular file no larger than the daemon accepts.
fn read_mask(mask: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    const MAX_MASK_BYTES: u64 = 256 << 20;
    let file = std::fs::File::open(mask).with_context(|| format!("could not read the mask {}", mask.display()))?;
    let metadata = file.metadata().with_context(|| format!("could not read the mask {}", mask.display()))?;
    if !metadata.is_file() {
        bail!("the mask {} is not a regular file; pass a PNG, JPEG or WebP image", mask.display());
    }
    if metadata.len() > MAX_MASK_BYTES {
        bail!(
            "the mask {} is {} MiB; masks are limited to {} MiB",
            mask.display(),
            metadata.len() >> 20,
            MAX_MASK_BYTES >> 20
        );
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(MAX_MASK_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("could not read the mask {}", mask.display()))?;
    Ok(bytes)
}

/// The image files named directly, plus the images inside named folders (sorted, not recursive).
fn expand_inputs(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("could not list the folder {}", path.display()))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|candidate| candidate.is_file() && is_image_name(candidate))
                .collect();
            found.sort();
            if found.is_empty() {
                bail!("the folder {} holds no PNG, JPEG or WebP images", path.display());
            }
            inputs.extend(found);
        } else {
            // Missing or unreadable files are reported per image, so the others still run.
            inputs.push(path.clone());
        }
    }
    Ok(inputs)
}

fn is_image_name(path: &Path) -> bool {
    path.extension().and_then(|extension| extension.to_str()).is_some_and(|extension| {
        ["png", "jpg", "jpeg", "webp"].iter().any(|known| known.eq_ignore_ascii_case(extension))
    })
}

/// Where each input's asset goes and in which format.
fn plan_outputs(
    inputs: &[PathBuf],
    single: bool,
    output: Option<&Path>,
    format_option: Option<Format>,
) -> anyhow::Result<Vec<(PathBuf, Format)>> {
    let stem = |input: &Path| {
        input.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_else(|| "asset".to_owned())
    };
    let output_file = output.filter(|path| !path.is_dir() && !path.to_string_lossy().ends_with('/'));
    if single && let Some(output) = output_file {
        {
            let from_extension =
                output.extension().and_then(|extension| extension.to_str()).and_then(Format::from_extension);
            let format = match (format_option, from_extension) {
                (Some(chosen), Some(named)) if chosen != named => {
                    return Err(UsageError(format!(
                        "the output {} names the {named} format but --format is {chosen}; make them agree",
                        output.display()
                    ))
                    .into());
                }
                (Some(chosen), _) => chosen,
                (None, Some(named)) => named,
                (None, None) => Format::Glb,
            };
            let path =
                if from_extension.is_some() { output.to_path_buf() } else { output.with_extension(format.extension()) };
            return Ok(vec![(path, format)]);
        }
    }
    let format = format_option.unwrap_or(Format::Glb);
    let folder = output.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("could not create the output folder {}", folder.display()))?;
    let mut used = HashSet::new();
    Ok(inputs
        .iter()
        .map(|input| {
            let mut name = stem(input);
            if !used.insert(name.clone()) {
                // Two inputs with the same stem (photo.png, photo.jpg) must not overwrite each other.
                let extension = input.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
                name = format!("{name}-{extension}");
                used.insert(name.clone());
            }
            (folder.join(format!("{name}.{}", format.extension())), format)
        })
        .collect())
}
