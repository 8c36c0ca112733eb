//! The technician console, served at `/` from files embedded in the
//! binary (`console/dist`, built by `npm run build` in `console/`).
//!
//! - hashed assets (`/assets/…`) are immutable and sent gzip-compressed to
//!   clients that take it (compressed once, on first use);
//! - `index.html` answers every other path outside `/api/` (the console
//!   routes in the browser), never cached;
//! - every answer carries a strict Content-Security-Policy (scripts and
//!   styles only from the desk, no inline script), `X-Frame-Options: DENY`
//!   and `nosniff`;
//! - a server built without the console answers with a page saying how to
//!   build it.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use axum::body::Bytes;

use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};

use super::*;

#[derive(rust_embed::RustEmbed)]
#[folder = "../../console/dist/"]
#[allow_missing = true]
struct Console;

/// The console's Content-Security-Policy: nothing inline, nothing from
/// elsewhere, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const NOT_BUILT: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Deskside console not built</title></head><body>\
<h1>The Deskside console is not part of this build</h1>\
<p>This desk server was built without its web console. The API is available under \
<code>/api/v1</code>.</p>\
<p>To include the console, build it before the server:</p>\
<pre>npm --prefix console install\nnpm --prefix console run build\ncargo build --release -p deskside-server</pre>\
<p><code>scripts/run.sh</code> and <code>scripts/package.sh</code> do this for you.</p>\
</body></html>\n";

/// Gzip bodies of embedded files, made on first use, by content (debug
/// builds read the files from disk, where a rebuilt console changes them).
type GzCache = Mutex<HashMap<[u8; 32], Bytes>>;

fn gzipped(file: &rust_embed::EmbeddedFile) -> Option<Bytes> {
    static CACHE: OnceLock<GzCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = file.metadata.sha256_hash();
    if let Some(hit) = cache.lock().ok()?.get(&key) {
        // A shared handle: answers do not copy the compressed file.
        return Some(hit.clone());
    }
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&file.data).ok()?;
    let gz = Bytes::from(e.finish().ok()?);
    cache.lock().ok()?.insert(key, gz.clone());
    Some(gz)
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| {
            let mut parts = enc.trim().split(';');
            parts.next().is_some_and(|n| n.trim() == "gzip")
                && !parts.any(|q| q.trim().replace(' ', "") == "q=0")
        })
}

/// Security headers of every console answer.
pub(super) fn secure(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// Serves the console for any path the API does not have.
pub(super) async fn console(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || path == "/api" {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such endpoint",
        )
        .into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            "the console is read with GET",
        )
        .into_response();
    }
    let name = path.trim_start_matches('/');
    let asset = (!name.is_empty() && name != "index.html")
        .then(|| Console::get(name))
        .flatten();
    let mut resp = match asset {
        Some(file) => {
            let immutable = name.starts_with("assets/");
            let mime = file.metadata.mimetype().to_owned();
            let mut resp = body(&file, accepts_gzip(&headers) && compressible(&mime));
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&mime) {
                h.insert(header::CONTENT_TYPE, v);
            }
            h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(if immutable {
                    "public, max-age=31536000, immutable"
                } else {
                    "no-cache"
                }),
            );
            resp
        }
        // A path with a file extension that is not there is a missing
        // file, not a console route.
        None if name
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
            && name != "index.html" =>
        {
            let mut r = (StatusCode::NOT_FOUND, "not found").into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        None => index(&headers),
    };
    secure(&mut resp);
    resp
}

/// A file's content, gzip-compressed when `gzip`.
fn body(file: &rust_embed::EmbeddedFile, gzip: bool) -> Response {
    match gzip.then(|| gzipped(file)).flatten() {
        Some(gz) => {
            let mut r = gz.into_response();
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        }
        None => file.data.clone().into_owned().into_response(),
    }
}

fn compressible(mime: &str) -> bool {
    mime.starts_with("text/")
        || mime.contains("javascript")
        || mime.contains("json")
        || mime.contains("svg")
}

fn index(headers: &HeaderMap) -> Response {
    let mut resp = match Console::get("index.html") {
        Some(file) => {
            let mut r = body(&file, accepts_gzip(headers));
            r.headers_mut()
                .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            r
        }
        None => NOT_BUILT.into_response(),
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// Whether this build carries the console.
pub fn console_built() -> bool {
    Console::get("index.html").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_negotiation() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, br"),
        );
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn the_policy_allows_no_inline_script() {
        assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    }
}
