//! [`Settings`]: the settings dict and the style sheet, kept in files a lab can edit.
//!
//! `settings.json` is a flat JSON object merged over PyMiner's defaults; a change is
//! written with the classic atomic-replace sequence (write a temporary file, fsync it,
//! rename it over the old one, fsync the folder), so a crash leaves either the old or
//! the new file, never a torn one, and a change is acknowledged only once it is on disk.
//! `style.qss` is read on every request, so a lab can swap its Qt style sheet while the
//! server runs.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use labsocket_plugin_api::Value;
use serde_json::Map;

/// File names inside the settings folder.
pub const SETTINGS_FILE: &str = "settings.json";
pub const STYLE_SHEET_FILE: &str = "style.qss";

/// Largest style sheet served.
const MAX_STYLE_SHEET_BYTES: u64 = 16 * 1024 * 1024;

/// Largest value of one setting, as JSON. Settings are short (a theme, a locale, a
/// folder); every change rewrites the whole file, so one huge value would make every
/// later change slow and the file a burden to edit.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// The style sheet written on first start, for the lab to replace.
const DEFAULT_STYLE_SHEET: &str = "\
/* labsocket: the Qt style sheet served to PyMiner clients (get_style_sheet).
   Replace this file with your lab's style sheet; it is read on every request. */
QMainWindow { background-color: #F7F7F7; }
";

/// PyMiner's defaults, in PyMiner's order. PyMiner's `work_dir` default "" meant "the
/// program's folder"; labsocket's equivalent is the data directory.
fn defaults(data_dir: &Path) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert(
        "work_dir".into(),
        Value::from(data_dir.display().to_string()),
    );
    map.insert("main_theme".into(), Value::from("#F7F7F7"));
    map.insert("margin_theme".into(), Value::from("#DADADA"));
    map.insert("locale".into(), Value::from("en"));
    map.insert("theme".into(), Value::from("Fusion"));
    map
}

/// The settings of one host.
pub struct Settings {
    folder: PathBuf,
    current: Mutex<Map<String, Value>>,
}

impl Settings {
    /// Loads `folder/settings.json` over the defaults, creating the folder, the settings
    /// file and the style sheet on first start.
    pub fn open(folder: &Path, data_dir: &Path) -> Result<Settings, String> {
        fs::create_dir_all(folder)
            .map_err(|err| format!("cannot create {}: {err}", folder.display()))?;
        let mut current = defaults(data_dir);
        let file = folder.join(SETTINGS_FILE);
        match fs::read(&file) {
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(saved)) => {
                    for (key, value) in saved {
                        current.insert(key, value);
                    }
                }
                Ok(_) => return Err(format!("{}: must hold a JSON object", file.display())),
                Err(err) => return Err(format!("{}: not valid JSON: {err}", file.display())),
            },
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                write_atomically(folder, SETTINGS_FILE, &to_pretty(&current))?;
            }
            Err(err) => return Err(format!("cannot read {}: {err}", file.display())),
        }
        let style_sheet = folder.join(STYLE_SHEET_FILE);
        if !style_sheet.exists() {
            write_atomically(folder, STYLE_SHEET_FILE, DEFAULT_STYLE_SHEET.as_bytes())?;
        }
        Ok(Settings {
            folder: folder.to_owned(),
            current: Mutex::new(current),
        })
    }

    /// Every setting, in file order.
    pub fn all(&self) -> Map<String, Value> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Changes one existing setting to a value of the same JSON type, durably.
    pub fn set(&self, name: &str, value: Value) -> Result<(), String> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let Some(old) = current.get(name) else {
            return Err(format!("Parameter name '{name}' not in settings!"));
        };
        if kind(old) != kind(&value) {
            return Err(format!(
                "setting '{name}' holds {}, not {}",
                kind(old),
                kind(&value)
            ));
        }
        let size = value.to_string().len();
        if size > MAX_VALUE_BYTES {
            return Err(format!(
                "setting '{name}': the value is {size} bytes of JSON, more than the limit of \
                 {MAX_VALUE_BYTES}"
            ));
        }
        let mut next = current.clone();
        next.insert(name.to_owned(), value);
        write_atomically(&self.folder, SETTINGS_FILE, &to_pretty(&next))?;
        *current = next;
        Ok(())
    }

    /// The current style sheet file's text.
    pub fn style_sheet(&self) -> Result<String, String> {
        let file = self.folder.join(STYLE_SHEET_FILE);
        let size = fs::metadata(&file)
            .map_err(|err| format!("cannot read {}: {err}", file.display()))?
            .len();
        if size > MAX_STYLE_SHEET_BYTES {
            return Err(format!(
                "{} is larger than {MAX_STYLE_SHEET_BYTES} bytes",
                file.display()
            ));
        }
        let bytes =
            fs::read(&file).map_err(|err| format!("cannot read {}: {err}", file.display()))?;
        String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", file.display()))
    }
}

/// A JSON type's name, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn to_pretty(map: &Map<String, Value>) -> Vec<u8> {
    let mut text = serde_json::to_vec_pretty(map).expect("a JSON map serialises");
    text.push(b'\n');
    text
}

/// Replaces `folder/name` with `contents` so that a crash leaves the old or the new file.
fn write_atomically(folder: &Path, name: &str, contents: &[u8]) -> Result<(), String> {
    let target = folder.join(name);
    let temporary = folder.join(format!(".{name}.tmp"));
    let fail = |err: std::io::Error| format!("cannot write {}: {err}", target.display());
    let mut file = fs::File::create(&temporary).map_err(fail)?;
    file.write_all(contents).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    drop(file);
    fs::rename(&temporary, &target).map_err(fail)?;
    fs::File::open(folder)
        .and_then(|dir| dir.sync_all())
        .map_err(fail)
}

#[cfg(test)]
mod tests {
    use labsocket_plugin_api::json;

    use super::*;

    struct Folder(PathBuf);

    impl Folder {
        fn new(label: &str) -> Folder {
            let path = std::env::temp_dir()
                .join(format!("labsocket-settings-{label}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            Folder(path)
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn first_start_writes_defaults_and_a_style_sheet() {
        let dir = Folder::new("first");
        let settings = Settings::open(&dir.0, Path::new("/lab/data")).unwrap();
        let all = settings.all();
        let keys: Vec<&str> = all.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["work_dir", "main_theme", "margin_theme", "locale", "theme"]
        );
        assert_eq!(all["work_dir"], "/lab/data");
        assert_eq!(all["theme"], "Fusion");
        assert!(settings.style_sheet().unwrap().contains("QMainWindow"));
        assert!(dir.0.join(SETTINGS_FILE).exists());
    }

    #[test]
    fn changes_are_validated_and_survive_reopening() {
        let dir = Folder::new("change");
        let settings = Settings::open(&dir.0, Path::new("/d")).unwrap();
        assert_eq!(
            settings.set("nope", json!("x")).unwrap_err(),
            "Parameter name 'nope' not in settings!"
        );
        assert!(settings
            .set("theme", json!(3))
            .unwrap_err()
            .contains("a string"));
        settings.set("theme", json!("Qdarkstyle")).unwrap();
        let reopened = Settings::open(&dir.0, Path::new("/d")).unwrap();
        assert_eq!(reopened.all()["theme"], "Qdarkstyle");
    }

    #[test]
    fn oversized_values_are_refused_and_nothing_changes() {
        let dir = Folder::new("oversized");
        let settings = Settings::open(&dir.0, Path::new("/lab/data")).unwrap();
        let huge = "x".repeat(MAX_VALUE_BYTES);
        let err = settings.set("locale", json!(huge)).unwrap_err();
        assert!(err.contains("more than the limit of 65536"), "{err}");
        assert_eq!(settings.all()["locale"], "en");
        let reopened = Settings::open(&dir.0, Path::new("/lab/data")).unwrap();
        assert_eq!(reopened.all()["locale"], "en");
        settings.set("locale", json!("x".repeat(1000))).unwrap();
    }

    #[test]
    fn a_lab_file_adds_keys_and_a_swapped_style_sheet_is_served() {
        let dir = Folder::new("lab");
        fs::create_dir_all(&dir.0).unwrap();
        fs::write(
            dir.0.join(SETTINGS_FILE),
            r#"{"locale": "zh_CN", "lab": 7}"#,
        )
        .unwrap();
        let settings = Settings::open(&dir.0, Path::new("/d")).unwrap();
        assert_eq!(settings.all()["locale"], "zh_CN");
        assert_eq!(settings.all()["lab"], 7);
        fs::write(dir.0.join(STYLE_SHEET_FILE), "QWidget { color: red; }").unwrap();
        assert_eq!(settings.style_sheet().unwrap(), "QWidget { color: red; }");
        fs::write(dir.0.join(SETTINGS_FILE), "[1]").unwrap();
        let err = Settings::open(&dir.0, Path::new("/d")).err().unwrap();
        assert!(err.contains("JSON object"), "{err}");
    }
}
