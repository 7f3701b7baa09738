//! Options of a generation, validated once before any work starts.

use crate::error::{EngineError, Result};

/// Limits that guard the decoder against huge or hostile images.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct DecodeLimits {
    /// The largest width or height accepted, in pixels.
    pub max_side_px: u32,
    /// The largest number of pixels accepted.
    pub max_pixels: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self { max_side_px: 16_384, max_pixels: 100_000_000 }
    }
}

impl DecodeLimits {
    /// Sets the per-side limit.
    pub fn with_max_side_px(mut self, max_side_px: u32) -> Self {
        self.max_side_px = max_side_px;
        self
    }

    /// Sets the pixel-count limit.
    pub fn with_max_pixels(mut self, max_pixels: u64) -> Self {
        self.max_pixels = max_pixels;
        self
    }
}

/// How the object is separated from the background.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub enum Background {
    /// Use the alpha channel when it holds a real mask, else remove a plain background.
    #[default]
    Auto,
    /// Use the whole picture as the object.
    Keep,
    /// Remove a plain background, even when the picture has an alpha channel.
    Builtin,
    /// Use this mask image (white or opaque = object).
    Mask {
        /// Name shown in errors, usually the file path.
        name: String,
        /// The encoded mask image.
        bytes: Vec<u8>,
    },
}

/// The solid the built-in reconstructor makes of the silhouette (`threedgpt_options::SHAPE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Shape {
    /// Chosen from the silhouette and its shading.
    #[default]
    Auto,
    /// The silhouette inflated.
    Relief,
    /// A solid of revolution about the mirror axis, appendages in relief.
    Revolve,
    /// A flat slab with rounded edges.
    Extrude,
}

impl Shape {
    /// Every shape, in the option table's order.
    pub const ALL: [Shape; 4] = [Shape::Auto, Shape::Relief, Shape::Revolve, Shape::Extrude];

    /// The name every client uses.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Auto => "auto",
            Shape::Relief => "relief",
            Shape::Revolve => "revolve",
            Shape::Extrude => "extrude",
        }
    }

    /// The shape with this name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|shape| shape.name().eq_ignore_ascii_case(name))
    }
}

/// Where the asset's origin sits (`threedgpt_options::ORIGIN`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The centre of the object's base: it stands on the ground where it is placed.
    #[default]
    Bottom,
    /// The centre of the bounding box.
    Center,
}

impl Origin {
    /// Every placement, in the option table's order.
    pub const ALL: [Origin; 2] = [Origin::Bottom, Origin::Center];

    /// The name every client uses.
    pub fn name(self) -> &'static str {
        match self {
            Origin::Bottom => "bottom",
            Origin::Center => "center",
        }
    }

    /// The placement with this name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Origin> {
        Origin::ALL.into_iter().find(|origin| origin.name().eq_ignore_ascii_case(name))
    }
}

/// The file formats the engine writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Binary glTF with the texture embedded.
    #[default]
    Glb,
    /// glTF JSON beside a `.bin` buffer and a PNG texture.
    Gltf,
    /// Wavefront OBJ beside an MTL material and a PNG texture.
    Obj,
    /// Binary STL (geometry only).
    Stl,
    /// Binary PLY with per-vertex colours sampled from the texture.
    Ply,
}

impl Format {
    /// Every format, for help texts.
    pub const ALL: [Format; 5] = [Format::Glb, Format::Gltf, Format::Obj, Format::Stl, Format::Ply];

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Glb => "glb",
            Format::Gltf => "gltf",
            Format::Obj => "obj",
            Format::Stl => "stl",
            Format::Ply => "ply",
        }
    }

    /// The format a file extension names (case-insensitive), if any.
    pub fn from_extension(extension: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|format| format.extension().eq_ignore_ascii_case(extension))
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        Format::from_extension(text)
            .ok_or_else(|| format!("unknown format {text:?}; use one of glb, gltf, obj, stl, ply"))
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.extension())
    }
}

/// Everything that shapes a generation. Build with [`Options::default`] and the `with_*` methods,
/// then call [`Options::validate`] (the pipeline does so before any work).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Options {
    /// Decoder limits.
    pub limits: DecodeLimits,
    /// How the foreground is found.
    pub background: Background,
    /// Share of the square frame the object's longest side fills after recentring.
    pub foreground_ratio: f32,
    /// Target triangle count of the final mesh.
    pub target_faces: u32,
    /// Side of the square texture in pixels (see `threedgpt_options::TEXTURE_SIZE`).
    pub texture_px: u32,
    /// The solid the built-in reconstructor makes.
    pub shape: Shape,
    /// Scales the depth of the inflated solid (1 = round cross-sections).
    pub thickness: f32,
    /// Where the asset's origin sits.
    pub origin: Origin,
    /// Length of the asset's longest side in metres.
    pub size_m: f32,
    /// Side of the square grid the reconstructor works on, in cells.
    pub grid_px: u32,
    /// Leave per-stage timings out of the written files so equal inputs give equal bytes.
    pub reproducible: bool,
}

impl Default for Options {
    fn default() -> Self {
        use threedgpt_options as table;
        Self {
            limits: DecodeLimits::default(),
            background: Background::Auto,
            foreground_ratio: table::FOREGROUND_RATIO.float().default,
            target_faces: table::FACES.int().default,
            texture_px: table::TEXTURE_SIZE.int().default,
            shape: Shape::from_name(table::SHAPE.choices().default).unwrap_or_default(),
            thickness: table::THICKNESS.float().default,
            origin: Origin::from_name(table::ORIGIN.choices().default).unwrap_or_default(),
            size_m: table::SIZE.float().default,
            grid_px: table::GRID.int().default,
            reproducible: false,
        }
    }
}

impl Options {
    /// Sets the decoder limits.
    pub fn with_limits(mut self, limits: DecodeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets how the foreground is found.
    pub fn with_background(mut self, background: Background) -> Self {
        self.background = background;
        self
    }

    /// Sets the share of the frame the object fills.
    pub fn with_foreground_ratio(mut self, ratio: f32) -> Self {
        self.foreground_ratio = ratio;
        self
    }

    /// Sets the target triangle count.
    pub fn with_target_faces(mut self, faces: u32) -> Self {
        self.target_faces = faces;
        self
    }

    /// Sets the texture side in pixels.
    pub fn with_texture_px(mut self, texture_px: u32) -> Self {
        self.texture_px = texture_px;
        self
    }

    /// Sets the shape the built-in reconstructor makes.
    pub fn with_shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }

    /// Sets where the asset's origin sits.
    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    /// Sets the depth scale.
    pub fn with_thickness(mut self, thickness: f32) -> Self {
        self.thickness = thickness;
        self
    }

    /// Sets the longest side in metres.
    pub fn with_size_m(mut self, size_m: f32) -> Self {
        self.size_m = size_m;
        self
    }

    /// Sets the reconstruction grid side.
    pub fn with_grid_px(mut self, grid_px: u32) -> Self {
        self.grid_px = grid_px;
        self
    }

    /// Leaves timings out of written files.
    pub fn with_reproducible(mut self, reproducible: bool) -> Self {
        self.reproducible = reproducible;
        self
    }

    /// Checks every option against its range in the option table, naming the option as the table
    /// does (`texture_size`).
    pub fn validate(&self) -> Result<()> {
        use threedgpt_options::{self as table, Spec};
        fn checked<T>(spec: &'static Spec, outcome: std::result::Result<T, String>) -> Result<()> {
            outcome.map(drop).map_err(|reason| EngineError::InvalidOption { option: spec.name, reason })
        }
        checked(&table::FOREGROUND_RATIO, table::FOREGROUND_RATIO.float().check(self.foreground_ratio))?;
        checked(&table::FACES, table::FACES.int().check(self.target_faces))?;
        checked(&table::TEXTURE_SIZE, table::TEXTURE_SIZE.int().check(self.texture_px))?;
        checked(&table::THICKNESS, table::THICKNESS.float().check(self.thickness))?;
        checked(&table::SIZE, table::SIZE.float().check(self.size_m))?;
        checked(&table::GRID, table::GRID.int().check(self.grid_px))?;
        if self.limits.max_side_px == 0 || self.limits.max_pixels == 0 {
            return Err(EngineError::InvalidOption {
                option: "limits",
                reason: "decoder limits must be positive".to_owned(),
            });
        }
        Ok(())
    }
}
