//! The commands the windows call. Every one is answered by
//! [`Desktop::call`](deskside_agent::desktop::Desktop::call), in this
//! process or, for the Linux windows process, in the tray process; errors
//! reach the page as `{ "message": "…" }`.

use std::sync::Arc;

use deskside_agent::desktop::commands::COMMANDS;
use deskside_agent::desktop::{CommandError, Desktop};
use serde_json::Value;
use tauri::ipc::{Invoke, InvokeBody};
use tauri::{Manager, Runtime};

/// Who answers the windows' commands.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The agent in this process.
    Local(Arc<Desktop>),
    /// The tray process, over its socket.
    #[cfg(unix)]
    Remote(Arc<deskside_agent::desktop::ipc::Client>),
}

impl Backend {
    /// Runs `cmd`.
    pub async fn call(&self, cmd: &str, args: Value) -> Result<Value, CommandError> {
        match self {
            Self::Local(d) => d.call(cmd, args).await,
            #[cfg(unix)]
            Self::Remote(c) => c.call(cmd, args).await,
        }
    }
}

/// Tauri's invoke handler: `false` (Tauri answers "not found") for a
/// command that is not one of [`COMMANDS`].
pub fn handle<R: Runtime>(invoke: Invoke<R>) -> bool {
    let cmd = invoke.message.command().to_owned();
    if !COMMANDS.contains(&cmd.as_str()) {
        return false;
    }
    let webview = invoke.message.webview();
    let Some(backend) = webview.try_state::<Backend>().map(|b| b.inner().clone()) else {
        invoke.resolver.reject(CommandError {
            message: deskside_agent::i18n::text(
                deskside_agent::i18n::Locale::detect(),
                "app.error.starting",
                &[],
            ),
        });
        return true;
    };
    let mut args = match invoke.message.payload() {
        InvokeBody::Json(v @ Value::Object(_)) => v.clone(),
        _ => Value::Object(Default::default()),
    };
    if cmd == "ready" {
        // Which window is ready is the caller, not an argument.
        args["label"] = Value::String(webview.label().to_owned());
    }
    let resolver = invoke.resolver;
    tauri::async_runtime::spawn(async move {
        match backend.call(&cmd, args).await {
            Ok(v) => resolver.resolve(v),
            Err(e) => resolver.reject(e),
        }
    });
    true
}
