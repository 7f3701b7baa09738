//! Every generate option in one table: its name, default, range or choices, and a one-line
//! description. The engine takes its defaults and checks from here; the daemon serves the table
//! (`System.Options`) and fills in what a client left unset; the CLI's help and parsers, the Python
//! module's checks and its stub's docstrings are made from it at build time; the Blender panel
//! asks the daemon at run time. Nothing else holds a default or a range.
//!
//! The crate has no dependencies, so everything that needs the table can compile it in.

/// A whole number in `min..=max`, and a power of two when `powers_of_two` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntRange {
    /// The value used when a client sets none.
    pub default: u32,
    /// The smallest value accepted.
    pub min: u32,
    /// The largest value accepted.
    pub max: u32,
    /// Only powers of two are accepted.
    pub powers_of_two: bool,
}

impl IntRange {
    /// Every accepted value when only powers of two are, else nothing (any value in the range).
    pub fn allowed(&self) -> Vec<u32> {
        if !self.powers_of_two {
            return Vec::new();
        }
        (0..32).map(|shift| 1u32 << shift).filter(|value| (self.min..=self.max).contains(value)).collect()
    }

    /// `value` when it is accepted, else why not (a phrase without the option's name).
    pub fn check(&self, value: u32) -> Result<u32, String> {
        if self.powers_of_two && !(value.is_power_of_two() && (self.min..=self.max).contains(&value)) {
            let allowed: Vec<String> = self.allowed().iter().map(u32::to_string).collect();
            return Err(format!("{value} is not one of {}", allowed.join(", ")));
        }
        if !(self.min..=self.max).contains(&value) {
            return Err(format!("{value} is outside {}..={}", self.min, self.max));
        }
        Ok(value)
    }
}

/// A number in `min..=max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloatRange {
    /// The value used when a client sets none.
    pub default: f32,
    /// The smallest value accepted.
    pub min: f32,
    /// The largest value accepted.
    pub max: f32,
}

impl FloatRange {
    /// `value` when it is accepted, else why not (a phrase without the option's name).
    pub fn check(&self, value: f32) -> Result<f32, String> {
        if value.is_finite() && (self.min..=self.max).contains(&value) {
            Ok(value)
        } else {
            Err(format!("{value} is outside {}..={}", self.min, self.max))
        }
    }
}

/// One of the fixed choices of an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// The choice's name, as every client spells it.
    pub name: &'static str,
    /// What it does, in one line.
    pub description: &'static str,
}

/// A choice among names; where `models` names a role, the name of an installed model of that role
/// is accepted too (the daemon lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choices {
    /// The choice used when a client sets none; empty for "none".
    pub default: &'static str,
    /// The fixed choices.
    pub choices: &'static [Choice],
    /// The models that may also be named.
    pub models: Option<Role>,
}

impl Choices {
    /// Whether `name` is one of the fixed choices (case-insensitive).
    pub fn fixed(&self, name: &str) -> Option<&'static Choice> {
        self.choices.iter().find(|choice| choice.name.eq_ignore_ascii_case(name))
    }

    /// The fixed choice `name` names (case-insensitive), else why not (a phrase without the
    /// option's name): `"cube" is not one of "auto", "relief", "revolve", "extrude"`.
    pub fn check(&self, name: &str) -> Result<&'static Choice, String> {
        self.fixed(name).ok_or_else(|| {
            let quoted: Vec<String> = self.names().iter().map(|name| format!("{name:?}")).collect();
            format!("{name:?} is not one of {}", quoted.join(", "))
        })
    }

    /// The fixed choices' names, for messages.
    pub fn names(&self) -> Vec<&'static str> {
        self.choices.iter().map(|choice| choice.name).collect()
    }
}

/// What a learned model does in a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Image → the 3D shape (`model`).
    Reconstructor,
    /// Image → the object's mask (`background`).
    Segmentation,
    /// Image → depth, which shapes the built-in reconstruction (`depth`).
    Depth,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Reconstructor, Role::Segmentation, Role::Depth];

    /// The role's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Role::Reconstructor => "reconstructor",
            Role::Segmentation => "segmentation",
            Role::Depth => "depth",
        }
    }

    /// The option that chooses a model of this role.
    pub fn option(self) -> &'static Spec {
        match self {
            Role::Reconstructor => &MODEL,
            Role::Segmentation => &BACKGROUND,
            Role::Depth => &DEPTH,
        }
    }
}

/// The kind of value an option takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A whole number.
    Int(IntRange),
    /// A number.
    Float(FloatRange),
    /// A name.
    Choice(Choices),
    /// On or off (off by default).
    Flag,
}

/// One generate option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spec {
    /// The option's name: the Python keyword, and the proto field (`size` is `size_m` there).
    pub name: &'static str,
    /// The CLI's long flag, without the dashes (`texture-size`).
    pub flag: &'static str,
    /// The label in an editor's panel.
    pub label: &'static str,
    /// What it does, in one line.
    pub description: &'static str,
    /// Its values.
    pub kind: Kind,
}

impl Spec {
    /// The option's range, when it is a whole number.
    pub const fn int(&self) -> IntRange {
        match self.kind {
            Kind::Int(range) => range,
            _ => panic!("not a whole-number option"),
        }
    }

    /// The option's range, when it is a number.
    pub const fn float(&self) -> FloatRange {
        match self.kind {
            Kind::Float(range) => range,
            _ => panic!("not a number option"),
        }
    }

    /// The option's choices, when it is a name.
    pub const fn choices(&self) -> Choices {
        match self.kind {
            Kind::Choice(choices) => choices,
            _ => panic!("not a choice option"),
        }
    }

    /// The default, its range or choices, in words: `default 1024; one of 256, 512, …`.
    pub fn summary(&self) -> String {
        match self.kind {
            Kind::Int(range) if range.powers_of_two => {
                let allowed: Vec<String> = range.allowed().iter().map(u32::to_string).collect();
                format!("default {}; one of {}", range.default, allowed.join(", "))
            }
            Kind::Int(range) => format!("default {}; {} to {}", range.default, range.min, range.max),
            Kind::Float(range) => format!("default {}; {} to {}", range.default, range.min, range.max),
            Kind::Choice(choices) => {
                let mut names = choices.names().join(", ");
                if let Some(role) = choices.models {
                    let or = if names.is_empty() { "" } else { " or " };
                    names.push_str(&format!("{or}an installed {} model", role.name()));
                }
                let default = if choices.default.is_empty() { "none" } else { choices.default };
                format!("default {default}; {names}")
            }
            Kind::Flag => "off by default".to_owned(),
        }
    }
}

/// The target triangle count.
pub const FACES: Spec = Spec {
    name: "faces",
    flag: "faces",
    label: "Faces",
    description: "Target triangle count of the mesh",
    kind: Kind::Int(IntRange { default: 20_000, min: 100, max: 5_000_000, powers_of_two: false }),
};

/// The texture's side in pixels.
pub const TEXTURE_SIZE: Spec = Spec {
    name: "texture_size",
    flag: "texture-size",
    label: "Texture",
    description: "Side of the square texture in pixels",
    kind: Kind::Int(IntRange { default: 1024, min: 256, max: 4096, powers_of_two: true }),
};

/// The share of the frame the object fills.
pub const FOREGROUND_RATIO: Spec = Spec {
    name: "foreground_ratio",
    flag: "foreground-ratio",
    label: "Foreground ratio",
    description: "Share of the frame the object fills after cropping and recentring",
    kind: Kind::Float(FloatRange { default: 0.85, min: 0.05, max: 1.0 }),
};

/// The depth scale of the inflated shape.
pub const THICKNESS: Spec = Spec {
    name: "thickness",
    flag: "thickness",
    label: "Thickness",
    description: "Depth scale of the inflated shape (1 = round cross-sections)",
    kind: Kind::Float(FloatRange { default: 1.0, min: 0.05, max: 10.0 }),
};

/// The asset's longest side in metres.
pub const SIZE: Spec = Spec {
    name: "size",
    flag: "size",
    label: "Size (m)",
    description: "Length of the asset's longest side in metres",
    kind: Kind::Float(FloatRange { default: 1.0, min: 0.001, max: 10_000.0 }),
};

/// The reconstruction grid.
pub const GRID: Spec = Spec {
    name: "grid",
    flag: "grid",
    label: "Detail",
    description: "Cells across the reconstruction grid; higher is finer and slower",
    kind: Kind::Int(IntRange { default: 256, min: 16, max: 2048, powers_of_two: false }),
};

/// The built-in reconstructor's name.
pub const RELIEF: &str = "relief";

/// The solid the built-in reconstructor makes of the silhouette.
pub const SHAPE: Spec = Spec {
    name: "shape",
    flag: "shape",
    label: "Shape",
    description: "The solid the built-in reconstructor makes of the silhouette",
    kind: Kind::Choice(Choices {
        default: "auto",
        choices: &[
            Choice {
                name: "auto",
                description: "Chosen from the silhouette: revolve a symmetric one (with its appendages in relief), extrude a flat straight-edged one, else relief",
            },
            Choice { name: "relief", description: "The silhouette inflated into a rounded solid" },
            Choice {
                name: "revolve",
                description: "A solid of revolution about the silhouette's mirror axis, vertical or leaning; appendages in relief",
            },
            Choice {
                name: "extrude",
                description: "A flat slab of the silhouette with rounded edges (signs, cards, tiles)",
            },
        ],
        models: None,
    }),
};

/// Where the asset's origin sits.
pub const ORIGIN: Spec = Spec {
    name: "origin",
    flag: "origin",
    label: "Origin",
    description: "Where the asset's origin sits",
    kind: Kind::Choice(Choices {
        default: "bottom",
        choices: &[
            Choice {
                name: "bottom",
                description: "At the centre of the object's base, so it stands on the ground where it is placed",
            },
            Choice { name: "center", description: "At the centre of the object's bounding box" },
        ],
        models: None,
    }),
};

/// The reconstructor.
pub const MODEL: Spec = Spec {
    name: "model",
    flag: "model",
    label: "Model",
    description: "The reconstructor: the built-in one or an installed image-to-3D model",
    kind: Kind::Choice(Choices {
        default: RELIEF,
        choices: &[Choice { name: RELIEF, description: "The built-in reconstructor: no learned weights, any machine" }],
        models: Some(Role::Reconstructor),
    }),
};

/// How the object is separated from the background.
pub const BACKGROUND: Spec = Spec {
    name: "background",
    flag: "background",
    label: "Background",
    description: "How the object is separated from the background",
    kind: Kind::Choice(Choices {
        default: "auto",
        choices: &[
            Choice {
                name: "auto",
                description: "The picture's transparency when it has some, else the best remover installed: a learned segmentation model, or the built-in removal of a plain background",
            },
            Choice { name: "keep", description: "Keep the whole picture as the object" },
            Choice { name: "builtin", description: "The built-in removal of a plain background" },
        ],
        models: Some(Role::Segmentation),
    }),
};

/// The optional depth model.
pub const DEPTH: Spec = Spec {
    name: "depth",
    flag: "depth",
    label: "Depth model",
    description: "An installed depth model that shapes the built-in reconstruction",
    kind: Kind::Choice(Choices { default: "", choices: &[], models: Some(Role::Depth) }),
};

/// Where learned models run.
pub const DEVICE: Spec = Spec {
    name: "device",
    flag: "device",
    label: "Device",
    description: "Where learned models run (the built-in reconstructor always uses the CPU)",
    kind: Kind::Choice(Choices {
        default: "auto",
        choices: &[
            Choice { name: "auto", description: "The GPU when one is usable, else the CPU" },
            Choice { name: "cpu", description: "The CPU" },
            Choice { name: "gpu", description: "The GPU, or an error when none is usable" },
        ],
        models: None,
    }),
};

/// The output format.
pub const FORMAT: Spec = Spec {
    name: "format",
    flag: "format",
    label: "Format",
    description: "Output format; by default taken from the output file's extension, else GLB",
    kind: Kind::Choice(Choices {
        default: "glb",
        choices: &[
            Choice { name: "glb", description: "Binary glTF with the texture embedded" },
            Choice { name: "gltf", description: "glTF JSON beside a .bin buffer and a PNG texture" },
            Choice { name: "obj", description: "Wavefront OBJ beside an MTL material and a PNG texture" },
            Choice { name: "stl", description: "Binary STL (geometry only)" },
            Choice { name: "ply", description: "Binary PLY with per-vertex colours" },
        ],
        models: None,
    }),
};

/// Byte-identical files for equal inputs.
pub const REPRODUCIBLE: Spec = Spec {
    name: "reproducible",
    flag: "reproducible",
    label: "Reproducible",
    description: "Leave timings out of the files so equal inputs give byte-identical files",
    kind: Kind::Flag,
};

/// Every generate option, in the order clients show them.
pub const ALL: [&Spec; 14] = [
    &FACES,
    &TEXTURE_SIZE,
    &FOREGROUND_RATIO,
    &BACKGROUND,
    &SHAPE,
    &THICKNESS,
    &ORIGIN,
    &SIZE,
    &GRID,
    &MODEL,
    &DEPTH,
    &DEVICE,
    &FORMAT,
    &REPRODUCIBLE,
];

/// The option with this name, if any.
pub fn get(name: &str) -> Option<&'static Spec> {
    ALL.into_iter().find(|spec| spec.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_accepted_by_its_own_option() {
        for spec in ALL {
            match spec.kind {
                Kind::Int(range) => assert_eq!(range.check(range.default), Ok(range.default), "{}", spec.name),
                Kind::Float(range) => assert_eq!(range.check(range.default), Ok(range.default), "{}", spec.name),
                Kind::Choice(choices) => {
                    assert!(choices.default.is_empty() || choices.fixed(choices.default).is_some(), "{}", spec.name)
                }
                Kind::Flag => {}
            }
        }
    }

    #[test]
    fn a_choice_is_checked_case_blind_and_a_wrong_one_lists_the_right_ones() {
        assert_eq!(SHAPE.choices().check("Revolve").map(|choice| choice.name), Ok("revolve"));
        assert_eq!(
            ORIGIN.choices().check("top").map(|choice| choice.name),
            Err("\"top\" is not one of \"bottom\", \"center\"".to_owned())
        );
    }

    #[test]
    fn names_are_unique_and_flags_are_the_names_spelled_for_a_shell() {
        for (index, spec) in ALL.iter().enumerate() {
            assert_eq!(spec.flag, spec.name.replace('_', "-"));
            assert!(ALL[index + 1..].iter().all(|other| other.name != spec.name), "{} twice", spec.name);
        }
    }

    #[test]
    fn ranges_say_what_is_wrong() {
        assert_eq!(TEXTURE_SIZE.int().allowed(), [256, 512, 1024, 2048, 4096]);
        assert_eq!(TEXTURE_SIZE.int().check(1000), Err("1000 is not one of 256, 512, 1024, 2048, 4096".to_owned()));
        assert_eq!(FACES.int().check(99), Err("99 is outside 100..=5000000".to_owned()));
        assert!(FOREGROUND_RATIO.float().check(f32::NAN).is_err());
        assert_eq!(FOREGROUND_RATIO.float().check(0.05), Ok(0.05));
        assert_eq!(TEXTURE_SIZE.summary(), "default 1024; one of 256, 512, 1024, 2048, 4096");
        assert_eq!(BACKGROUND.summary(), "default auto; auto, keep, builtin or an installed segmentation model");
    }
}
