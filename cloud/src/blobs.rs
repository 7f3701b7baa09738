//! The blob store: sealed blobs under `ACCOUNT/NAME`, in a folder of `--data` by default or in any
//! S3-compatible store (`--blobs s3://bucket/prefix`, with the usual AWS variables and
//! `AWS_ENDPOINT` for one that is not Amazon's). The server only ever holds ciphertext here: the
//! device seals every blob with the user's data key before it is sent (docs/crypto.md).

use std::path::Path as FilePath;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

/// Where blobs live.
#[derive(Clone)]
pub(crate) struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// A short description for logs ("folder …", "s3://…").
    pub(crate) description: String,
    /// The folder, for a store in one (whose empty folders the store itself leaves behind).
    folder: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.description)
    }
}

/// What went wrong in the store (the handlers answer it as the server's own failure).
pub(crate) type StoreError = object_store::Error;

impl BlobStore {
    /// The store `url` names, or the `blobs` folder in `data`.
    pub(crate) fn open(url: Option<&str>, data: &FilePath) -> anyhow::Result<BlobStore> {
        match url {
            None => {
                let folder = data.join("blobs");
                std::fs::create_dir_all(&folder).with_context(|| format!("could not create {}", folder.display()))?;
                let store = object_store::local::LocalFileSystem::new_with_prefix(&folder)
                    .with_context(|| format!("could not use {} for blobs", folder.display()))?;
                let description = format!("folder {}", folder.display());
                Ok(BlobStore { store: Arc::new(store), description, folder: Some(folder) })
            }
            Some(url) if url.starts_with("s3://") => {
                let (bucket, prefix) = url["s3://".len()..].split_once('/').unwrap_or((&url["s3://".len()..], ""));
                let store = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .with_context(|| format!("could not use {url} for blobs (check the AWS_* variables)"))?;
                let store: Arc<dyn ObjectStore> = if prefix.trim_matches('/').is_empty() {
                    Arc::new(store)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(store, prefix.trim_matches('/')))
                };
                Ok(BlobStore { store, description: url.to_owned(), folder: None })
            }
            Some(url) => anyhow::bail!("--blobs must be an s3://bucket/prefix URL, not {url:?}"),
        }
    }

    fn location(account: &str, name: &str) -> Path {
        Path::from(format!("{account}/{name}"))
    }

    fn part_location(account: &str, name: &str, part: u32) -> Path {
        Path::from(format!("uploads/{account}/{name}/{part:06}"))
    }

    /// Stores a whole blob.
    pub(crate) async fn put(&self, account: &str, name: &str, bytes: Bytes) -> Result<(), StoreError> {
        self.store.put(&BlobStore::location(account, name), PutPayload::from_bytes(bytes)).await.map(drop)
    }

    /// A blob's bytes.
    pub(crate) async fn get(&self, account: &str, name: &str) -> Result<Bytes, StoreError> {
        self.store.get(&BlobStore::location(account, name)).await?.bytes().await
    }

    /// Removes a blob; one that is already gone is no error.
    pub(crate) async fn delete(&self, account: &str, name: &str) -> Result<(), StoreError> {
        match self.store.delete(&BlobStore::location(account, name)).await {
            Err(StoreError::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    /// Keeps one part of a blob uploaded in parts.
    pub(crate) async fn put_part(&self, account: &str, name: &str, part: u32, bytes: Bytes) -> Result<(), StoreError> {
        self.store.put(&BlobStore::part_location(account, name, part), PutPayload::from_bytes(bytes)).await.map(drop)
    }

    /// The parts of `name` received so far: (part number, size), in order.
    pub(crate) async fn parts(&self, account: &str, name: &str) -> Result<Vec<(u32, u64)>, StoreError> {
        let prefix = Path::from(format!("uploads/{account}/{name}"));
        let mut parts = Vec::new();
        let mut listing = self.store.list(Some(&prefix));
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            if let Some(part) = meta.location.filename().and_then(|file| file.parse::<u32>().ok()) {
                parts.push((part, meta.size));
            }
        }
        parts.sort_unstable();
        Ok(parts)
    }

    /// Hands parts `0..count` of `name` to `inspect`, in order.
    pub(crate) async fn read_parts(
        &self,
        account: &str,
        name: &str,
        count: u32,
        mut inspect: impl FnMut(&[u8]),
    ) -> Result<(), StoreError> {
        for part in 0..count {
            inspect(&self.store.get(&BlobStore::part_location(account, name, part)).await?.bytes().await?);
        }
        Ok(())
    }

    /// Joins parts `0..count` into the blob `name` and removes them. The parts are read again
    /// rather than held, so joining takes no more memory than a part or two.
    pub(crate) async fn join_parts(&self, account: &str, name: &str, count: u32) -> Result<(), StoreError> {
        let upload = self.store.put_multipart(&BlobStore::location(account, name)).await?;
        let mut writer = WriteMultipart::new(upload);
        for part in 0..count {
            writer.put(self.store.get(&BlobStore::part_location(account, name, part)).await?.bytes().await?);
            writer.wait_for_capacity(2).await?;
        }
        writer.finish().await?;
        self.delete_parts(account, name).await
    }

    /// Forgets an upload in parts.
    pub(crate) async fn delete_parts(&self, account: &str, name: &str) -> Result<(), StoreError> {
        for (part, _) in self.parts(account, name).await? {
            match self.store.delete(&BlobStore::part_location(account, name, part)).await {
                Ok(()) | Err(StoreError::NotFound { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Removes everything of `account`: its blobs and unfinished uploads.
    pub(crate) async fn delete_account(&self, account: &str) -> Result<(), StoreError> {
        for prefix in [Path::from(account), Path::from(format!("uploads/{account}"))] {
            let locations: Vec<Path> = self
                .store
                .list(Some(&prefix))
                .map(|meta| meta.map(|meta| meta.location))
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<_, _>>()?;
            for location in locations {
                match self.store.delete(&location).await {
                    Ok(()) | Err(StoreError::NotFound { .. }) => {}
                    Err(error) => return Err(error),
                }
            }
        }
        if let Some(folder) = &self.folder {
            // Not even an empty folder named for the account stays.
            for path in [folder.join(account), folder.join("uploads").join(account)] {
                match tokio::fs::remove_dir_all(&path).await {
                    Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                        return Err(StoreError::Generic { store: "folder", source: Box::new(error) });
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}
