//! The engine's error type: every failure a user can cause or meet, with a message that says what
//! was wrong and what to do about it.

use std::path::PathBuf;

/// Everything that can go wrong while turning an image into an asset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The input file holds no bytes at all.
    #[error("{name}: the file is empty; choose a PNG, JPEG or WebP image")]
    EmptyInput {
        /// The file (or stream) name the bytes came from.
        name: String,
    },
    /// The bytes are not in a format the engine reads.
    #[error(
        "{name}: not a PNG, JPEG or WebP image (unrecognised or unsupported format); convert it to PNG and try again"
    )]
    UnsupportedFormat {
        /// The file name.
        name: String,
    },
    /// The image is wider or taller than the configured limit.
    #[error("{name}: image is {width}x{height} px; the limit is {max_side_px} px per side; downscale it and try again")]
    TooLarge {
        /// The file name.
        name: String,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The configured limit per side.
        max_side_px: u32,
    },
    /// The image holds more pixels than the configured limit.
    #[error(
        "{name}: image is {width}x{height} px ({megapixels:.1} MP); the limit is {max_megapixels:.1} MP; downscale it and try again"
    )]
    TooManyPixels {
        /// The file name.
        name: String,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The image's size in megapixels.
        megapixels: f64,
        /// The configured limit in megapixels.
        max_megapixels: f64,
    },
    /// The image has a zero width or height.
    #[error("{name}: image has no pixels ({width}x{height}); the file is probably damaged")]
    ZeroSized {
        /// The file name.
        name: String,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The decoder rejected the data: corrupt, truncated or using an unsupported feature.
    #[error(
        "{name}: could not decode the image, it may be corrupt or truncated ({source}); re-export it from an image editor and try again"
    )]
    Corrupt {
        /// The file name.
        name: String,
        /// What the decoder said.
        #[source]
        source: image::ImageError,
    },
    /// The file ends before its image data does.
    #[error(
        "{name}: the file is truncated (it ends before the image data does); copy or download it again, or re-export it from an image editor"
    )]
    Truncated {
        /// The file name.
        name: String,
    },
    /// No foreground object could be found.
    #[error(
        "no object found in the image: {reason}; use an image with the object on a plain or transparent background, give a mask, or set background \"keep\" to use the whole picture"
    )]
    NoObject {
        /// Why the foreground was rejected.
        reason: String,
    },
    /// A mask image does not fit the input image.
    #[error(
        "the mask is {mask_width}x{mask_height} px but the image is {width}x{height} px; the mask must have the image's size or aspect ratio"
    )]
    MaskMismatch {
        /// Mask width.
        mask_width: u32,
        /// Mask height.
        mask_height: u32,
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
    },
    /// An option is out of its range.
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The option's name as the option table spells it (`texture_size`).
        option: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// The caller cancelled the generation.
    #[error("generation was cancelled")]
    Cancelled,
    /// An output file could not be written.
    #[error("could not write {}: {source}; check that the folder exists, is writable and the disk is not full", path.display())]
    Write {
        /// The file that failed.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A learned volumetric model failed on this picture.
    #[error("the model {model} failed: {reason}; try again with the built-in \"relief\" reconstructor")]
    Reconstruction {
        /// The model.
        model: String,
        /// Why.
        reason: String,
    },
    /// A learned segmentation model failed on this picture.
    #[error("the segmentation model {model} failed: {reason}; try again without it (the built-in background removal)")]
    Segmentation {
        /// The model.
        model: String,
        /// Why.
        reason: String,
    },
    /// A learned depth model failed on this picture.
    #[error("the depth model {model} failed: {reason}; try again with the built-in \"relief\" reconstructor")]
    Depth {
        /// The model.
        model: String,
        /// Why.
        reason: String,
    },
    /// A GLB could not be read back (only files this engine wrote are read).
    #[error("could not read the stored asset: {reason}; it may be damaged or from another program")]
    UnreadableAsset {
        /// What was wrong.
        reason: String,
    },
    /// Encoding the texture image failed.
    #[error("could not encode the texture: {source}")]
    TextureEncode {
        /// What the encoder said.
        #[source]
        source: image::ImageError,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
