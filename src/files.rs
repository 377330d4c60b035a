//! Finding files under a folder: the one directory walk behind every command that reads a tree
//! (model files, template macros, metric tests, saved queries, data files, dialect files, Cube's
//! JavaScript models), so they all follow the same rules (written in the README):
//!
//! - names starting with `.` (files and folders) are skipped at every depth;
//! - symbolic links are followed, to files and to folders (a shared folder of models linked in
//!   is read as if it were there); a link that loops back is an error naming it;
//! - a folder or link that cannot be read is an error naming it, never silently left out;
//! - the result is sorted by path, so every machine sees the same files in the same order.
//!
//! Each caller says only how deep to look, which top-level folders hold something else, and
//! which files it wants.

use std::path::{Path, PathBuf};

/// A folder or link the walk could not read.
#[derive(Debug, Clone, PartialEq)]
pub struct WalkError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read `{}`: {}", self.path.display(), self.message)
    }
}

/// Which files a walk returns.
#[derive(Debug, Clone, Copy)]
pub struct Walk<'a> {
    /// Folders below the root to enter: 1 reads the root's own files only.
    pub max_depth: usize,
    /// Folders directly under the root that hold other things (a model's `data/`, `tests/`).
    pub skip_top: &'a [&'a str],
    /// File extensions wanted, without the dot (`yml`); a name ending in `.{ext}` matches, so
    /// `yml.jinja` is an extension too.
    pub extensions: &'a [&'a str],
}

impl Walk<'_> {
    /// Every depth, no folder skipped.
    pub const fn deep<'a>(extensions: &'a [&'a str]) -> Walk<'a> {
        Walk { max_depth: usize::MAX, skip_top: &[], extensions }
    }

    /// The folder's own files only.
    pub const fn flat<'a>(extensions: &'a [&'a str]) -> Walk<'a> {
        Walk { max_depth: 1, skip_top: &[], extensions }
    }

    /// The files under `root` this walk wants, sorted by path. A missing `root` is an error;
    /// callers for which a missing folder means "nothing there" check first.
    pub fn files(&self, root: &Path) -> Result<Vec<PathBuf>, WalkError> {
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .min_depth(1)
            .max_depth(self.max_depth)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                let skipped = e.depth() == 1 && e.file_type().is_dir() && self.skip_top.contains(&name.as_ref());
                !name.starts_with('.') && !skipped
            });
        let mut out = Vec::new();
        for entry in walker {
            let entry = entry.map_err(|e| WalkError {
                path: e.path().unwrap_or(root).to_path_buf(),
                message: match (e.loop_ancestor(), e.io_error()) {
                    (Some(a), _) => format!("a symbolic link loops back to `{}`", a.display()),
                    (None, Some(io)) => io.to_string(),
                    (None, None) => e.to_string(),
                },
            })?;
            if entry.file_type().is_file() && self.wants(entry.path()) {
                out.push(entry.into_path());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Whether a file name has one of the wanted extensions.
    pub fn wants(&self, path: &Path) -> bool {
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        self.extensions.iter().any(|ext| {
            name.len() > ext.len() + 1 && name.ends_with(ext) && name[..name.len() - ext.len()].ends_with('.')
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cubec-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in ["a.yml", "b/c.yaml", "b/d/e.yml", ".hidden/f.yml", "b/.g.yml", "data/h.yml", "i.yml.jinja", "j.txt"] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        dir
    }

    #[test]
    fn one_set_of_rules() {
        let dir = tree();
        let rel = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter().map(|p| p.strip_prefix(&dir).unwrap().to_string_lossy().replace('\\', "/")).collect()
        };
        let all = Walk::deep(&["yml", "yaml", "yml.jinja"]).files(&dir).unwrap();
        assert_eq!(rel(all), ["a.yml", "b/c.yaml", "b/d/e.yml", "data/h.yml", "i.yml.jinja"]);
        let models = Walk { skip_top: &["data"], ..Walk::deep(&["yml", "yaml"]) }.files(&dir).unwrap();
        assert_eq!(rel(models), ["a.yml", "b/c.yaml", "b/d/e.yml"]);
        assert_eq!(rel(Walk::flat(&["yml"]).files(&dir).unwrap()), ["a.yml"]);
        assert_eq!(
            rel(Walk { max_depth: 2, ..Walk::deep(&["yml", "yaml"]) }.files(&dir).unwrap()),
            ["a.yml", "b/c.yaml", "data/h.yml"]
        );
        let missing = Walk::flat(&["yml"]).files(&dir.join("nope")).unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&dir, dir.join("b/loop")).unwrap();
            let err = Walk::deep(&["yml"]).files(&dir).unwrap_err();
            assert!(err.message.contains("loops back"), "{err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
