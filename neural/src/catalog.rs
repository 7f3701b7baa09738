//! The catalog: manifests of published models (`models/catalog/*.toml`), built into the program so
//! `3dgpt models install u2netp` needs no manifest file and `3dgpt models list` can show what is
//! not installed yet. Every manifest here had its files' sizes and SHA-256s checked against the
//! real files.

use crate::manifest::Manifest;

/// A published model's manifest.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// Its TOML, as an installed model keeps it.
    pub text: &'static str,
}

const MANIFESTS: [&str; 3] = [
    include_str!("../../models/catalog/u2netp.toml"),
    include_str!("../../models/catalog/u2net.toml"),
    include_str!("../../models/catalog/modnet.toml"),
];

/// Every model in the catalog, by name.
pub fn entries() -> Vec<CatalogEntry> {
    let mut entries: Vec<CatalogEntry> = MANIFESTS
        .iter()
        .map(|text| CatalogEntry {
            // The tests parse every manifest, so one that does not parse never ships.
            manifest: Manifest::parse(text).unwrap_or_else(|error| panic!("a catalog manifest is invalid: {error}")),
            text,
        })
        .collect();
    entries.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
    entries
}

/// The catalog's model of that name.
pub fn find(name: &str) -> Option<CatalogEntry> {
    entries().into_iter().find(|entry| entry.manifest.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Kind;

    #[test]
    fn every_catalog_manifest_parses_and_names_its_sources() {
        let entries = entries();
        let names: Vec<&str> = entries.iter().map(|entry| entry.manifest.name.as_str()).collect();
        assert_eq!(names, ["modnet", "u2net", "u2netp"]);
        for entry in &entries {
            let manifest = &entry.manifest;
            assert_eq!(manifest.kind, Kind::Segmentation);
            assert_eq!(manifest.license, "Apache-2.0");
            let file = manifest.file("model").unwrap();
            let package = file.package.as_ref().expect("a registry package carries each file");
            assert!(package.path.ends_with(&file.path), "{}: {}", manifest.name, package.path);
            assert!(package.sha256.is_some(), "{}: the package's own hash", manifest.name);
        }
        let u2netp = find("u2netp").unwrap().manifest;
        assert_eq!(u2netp.size(), 4_574_861);
        assert_eq!(
            u2netp.file("model").unwrap().sha256,
            "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"
        );
        assert!(find("u2net").unwrap().manifest.quality > u2netp.quality, "the bigger U²-Net is preferred");
        assert_eq!(find("modnet").unwrap().manifest.quality, 0, "people only: never picked on its own");
        assert!(find("nothing").is_none());
    }
}
