//! The 3D GPT daemon's gRPC API (`threedgpt.v1`), generated from `threedgpt/v1/api.proto`. Only the
//! daemon (server) and the SDK (client) use this crate.
#![allow(missing_docs, unreachable_pub, clippy::doc_markdown)]

/// Version 1 of the API.
pub mod v1 {
    tonic::include_proto!("threedgpt.v1");
}

/// The API version string reported by `System.Info`.
pub const API_VERSION: &str = "v1";

use threedgpt_options::{self as table, Role};

/// The option table (`threedgpt_options`) as `System.Options` serves it, with the installed models of each role.
pub fn option_table(installed: &[(Role, String)]) -> v1::OptionsResponse {
    use v1::option_spec::Kind as Wire;
    let options = table::ALL
        .iter()
        .map(|spec| v1::OptionSpec {
            name: spec.name.to_owned(),
            flag: spec.flag.to_owned(),
            label: spec.label.to_owned(),
            description: spec.description.to_owned(),
            kind: Some(match spec.kind {
                table::Kind::Int(range) => Wire::Int(v1::IntOption {
                    default: range.default,
                    min: range.min,
                    max: range.max,
                    allowed: range.allowed(),
                }),
                table::Kind::Float(range) => {
                    Wire::Float(v1::FloatOption { default: range.default, min: range.min, max: range.max })
                }
                table::Kind::Choice(choices) => Wire::Choice(v1::ChoiceOption {
                    default: choices.default.to_owned(),
                    choices: choices
                        .choices
                        .iter()
                        .map(|choice| v1::Choice {
                            name: choice.name.to_owned(),
                            description: choice.description.to_owned(),
                        })
                        .collect(),
                    models: choices.models.map(|role| role.name().to_owned()).unwrap_or_default(),
                }),
                table::Kind::Flag => Wire::FlagOption(v1::FlagOption {}),
            }),
        })
        .collect();
    let roles = Role::ALL
        .iter()
        .map(|role| v1::RoleModels {
            role: role.name().to_owned(),
            models: installed.iter().filter(|(of, _)| of == role).map(|(_, name)| name.clone()).collect(),
        })
        .collect();
    v1::OptionsResponse { options, roles }
}
