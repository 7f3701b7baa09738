//! A generation's options as GDScript passes them (a `Dictionary` of option names to values),
//! checked against the option table the daemon uses, so a mistake is reported with the option's
//! name before anything is sent.

use threedgpt_sdk::options::{self as table, Spec};
use threedgpt_sdk::{Background, Device, GenerateOptions};

/// The output folder when the options name none.
pub(crate) const DEFAULT_FOLDER: &str = "res://generated";

/// A value from GDScript, converted from its `Variant` by the Godot layer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `null`: the option is left to the daemon's default.
    Nil,
    /// A `bool`.
    Bool(bool),
    /// An `int`.
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `String` or `StringName`.
    Text(String),
    /// Any other type, by its name (for the error).
    Other(String),
}

impl Value {
    fn describe(&self) -> String {
        match self {
            Value::Nil => "null".to_owned(),
            Value::Bool(value) => value.to_string(),
            Value::Int(value) => value.to_string(),
            Value::Float(value) => value.to_string(),
            Value::Text(value) => format!("{value:?}"),
            Value::Other(type_name) => format!("a {type_name}"),
        }
    }
}

/// What the options of one generation ask for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    /// The engine's options; unset ones take the daemon's defaults.
    pub(crate) options: GenerateOptions,
    /// Where the model goes: a `res://` folder or an absolute one.
    pub(crate) folder: String,
    /// Pictures from other sides (`right`, `back`, `left`, `top`) as given: `res://` or absolute.
    pub(crate) views: Vec<(String, String)>,
    /// The picture is a turnaround sheet (front, right, back, left side by side).
    pub(crate) sheet: bool,
}

/// The sides a picture besides the front may show, as `generate` takes them.
pub(crate) const VIEW_SIDES: [&str; 4] = ["right", "back", "left", "top"];

/// The keys `generate` accepts besides the option table's: where the result goes.
const FOLDER: &str = "folder";

/// Checks every option; the error names the option and what it takes.
pub(crate) fn parse(entries: impl IntoIterator<Item = (String, Value)>) -> Result<Request, String> {
    let mut options = GenerateOptions::default();
    let mut folder = DEFAULT_FOLDER.to_owned();
    let (mut views, mut sheet) = (Vec::new(), false);
    for (key, value) in entries {
        if value == Value::Nil {
            continue;
        }
        let invalid = |reason: String| format!("{key} = {}: {reason}", value.describe());
        let int = |spec: &Spec| -> Result<Option<u32>, String> {
            let number = match value {
                Value::Int(number) => number,
                // 2000.0 from a SpinBox is a whole number too.
                Value::Float(number) if number.fract() == 0.0 && number.is_finite() => number as i64,
                _ => return Err(invalid(format!("{} must be a whole number", spec.name))),
            };
            let number = u32::try_from(number).map_err(|_| invalid(format!("{number} is out of range")))?;
            spec.int().check(number).map(Some).map_err(invalid)
        };
        let float = |spec: &Spec| -> Result<Option<f32>, String> {
            let number = match value {
                Value::Int(number) => number as f64,
                Value::Float(number) => number,
                _ => return Err(invalid(format!("{} must be a number", spec.name))),
            };
            spec.float().check(number as f32).map(Some).map_err(invalid)
        };
        let text = |what: &str| -> Result<String, String> {
            match &value {
                Value::Text(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
                _ => Err(invalid(format!("{key} must be {what}"))),
            }
        };
        let choice = |spec: &Spec| -> Result<Option<String>, String> {
            let choices = spec.choices();
            let name = text(&format!("one of {}", choices.names().join(", ")))?;
            choices.check(&name).map(|choice| Some(choice.name.to_owned())).map_err(invalid)
        };
        match key.as_str() {
            "faces" => options.faces = int(&table::FACES)?,
            "texture_size" => options.texture_size = int(&table::TEXTURE_SIZE)?,
            "foreground_ratio" => options.foreground_ratio = float(&table::FOREGROUND_RATIO)?,
            "shape" => options.shape = choice(&table::SHAPE)?,
            "thickness" => options.thickness = float(&table::THICKNESS)?,
            "origin" => options.origin = choice(&table::ORIGIN)?,
            "size" => options.size_m = float(&table::SIZE)?,
            "grid" => options.grid = int(&table::GRID)?,
            "model" => options.model = Some(text("a reconstructor's name")?),
            "depth" => options.depth = Some(text("a depth model's name")?),
            "background" => {
                options.background =
                    Background::from_name(&text("\"auto\", \"keep\", \"builtin\" or a segmentation model's name")?)
            }
            "device" => {
                options.device = Device::from_name(&text("\"auto\", \"cpu\" or \"gpu\"")?)
                    .ok_or_else(|| invalid("device must be \"auto\", \"cpu\" or \"gpu\"".to_owned()))?;
            }
            "reproducible" => match value {
                Value::Bool(reproducible) => options.reproducible = reproducible,
                _ => return Err(invalid("use true or false".to_owned())),
            },
            "format" => {
                return Err(invalid(
                    "the Godot plugin always writes GLB, which the editor imports; export other formats with the 3dgpt CLI"
                        .to_owned(),
                ));
            }
            FOLDER => folder = text("a folder such as \"res://generated\"")?,
            side if VIEW_SIDES.contains(&side) => {
                // An empty field is a view left out.
                if matches!(&value, Value::Text(text) if text.trim().is_empty()) {
                    continue;
                }
                views.push((side.to_owned(), text("a picture's path such as \"res://right.png\"")?));
            }
            "sheet" => match value {
                Value::Bool(value) => sheet = value,
                _ => return Err(invalid("use true or false".to_owned())),
            },
            _ => {
                let mut names: Vec<&str> =
                    table::ALL.iter().map(|spec| spec.name).filter(|name| *name != "format").collect();
                names.push(FOLDER);
                names.extend(VIEW_SIDES);
                names.push("sheet");
                return Err(format!("unknown option {key:?}; the options are {}", names.join(", ")));
            }
        }
    }
    if sheet && !views.is_empty() {
        return Err(
            "a turnaround sheet holds its own views: leave right, back, left and top empty with sheet".to_owned()
        );
    }
    Ok(Request { options, folder, views, sheet })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_one(key: &str, value: Value) -> Result<Request, String> {
        parse([(key.to_owned(), value)])
    }

    #[test]
    fn nothing_set_leaves_every_option_to_the_daemon_and_writes_to_res_generated() {
        let request = parse([]).unwrap();
        assert_eq!(request.options, GenerateOptions::default());
        assert_eq!(request.folder, "res://generated");
        assert_eq!(parse_one("faces", Value::Nil).unwrap().options.faces, None);
    }

    #[test]
    fn values_are_checked_against_the_daemons_table() {
        let request = parse([
            ("faces".to_owned(), Value::Int(2000)),
            ("texture_size".to_owned(), Value::Float(512.0)),
            ("thickness".to_owned(), Value::Int(1)),
            ("background".to_owned(), Value::Text("keep".to_owned())),
            ("folder".to_owned(), Value::Text("res://models/".to_owned())),
        ])
        .unwrap();
        assert_eq!(request.options.faces, Some(2000));
        assert_eq!(request.options.texture_size, Some(512));
        assert_eq!(request.options.thickness, Some(1.0));
        assert_eq!(request.options.background, Background::Keep);
        assert_eq!(request.folder, "res://models/");
    }

    #[test]
    fn a_bad_value_names_the_option_and_what_it_takes() {
        assert_eq!(
            parse_one("texture_size", Value::Int(1000)).unwrap_err(),
            "texture_size = 1000: 1000 is not one of 256, 512, 1024, 2048, 4096"
        );
        assert!(parse_one("faces", Value::Int(-5)).unwrap_err().starts_with("faces = -5: -5 is out of range"));
        assert!(parse_one("faces", Value::Float(10.5)).unwrap_err().contains("faces must be a whole number"));
        assert!(parse_one("faces", Value::Text("many".to_owned())).unwrap_err().starts_with("faces = \"many\""));
        assert!(parse_one("foreground_ratio", Value::Float(f64::NAN)).unwrap_err().contains("outside"));
        assert!(
            parse_one("device", Value::Text("tpu".to_owned())).unwrap_err().contains("\"auto\", \"cpu\" or \"gpu\"")
        );
        assert!(parse_one("model", Value::Other("Vector2".to_owned())).unwrap_err().contains("a Vector2"));
        assert!(parse_one("format", Value::Text("obj".to_owned())).unwrap_err().contains("always writes GLB"));
    }

    #[test]
    fn views_are_paths_by_side_and_a_sheet_holds_its_own() {
        let request = parse([
            ("right".to_owned(), Value::Text("res://pawn_right.png".to_owned())),
            ("back".to_owned(), Value::Text(" ".to_owned())),
            ("top".to_owned(), Value::Nil),
        ])
        .unwrap();
        assert_eq!(request.views, [("right".to_owned(), "res://pawn_right.png".to_owned())]);
        assert!(!request.sheet);
        assert!(parse_one("sheet", Value::Bool(true)).unwrap().sheet);
        assert!(parse_one("left", Value::Int(3)).unwrap_err().contains("left must be a picture's path"));
        assert!(parse_one("sheet", Value::Int(1)).unwrap_err().contains("use true or false"));
        let both =
            parse([("sheet".to_owned(), Value::Bool(true)), ("right".to_owned(), Value::Text("/r.png".to_owned()))]);
        assert!(both.unwrap_err().contains("holds its own views"));
    }

    #[test]
    fn an_unknown_option_lists_the_known_ones() {
        let error = parse_one("facez", Value::Int(1)).unwrap_err();
        assert!(error.starts_with("unknown option \"facez\"; the options are faces, texture_size"), "{error}");
        assert!(error.ends_with("folder, right, back, left, top, sheet"), "{error}");
        assert!(!error.contains("format"), "{error}");
    }
}
