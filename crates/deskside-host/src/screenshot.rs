//! A picture of the screen for a problem report.
//!
//! The tray app takes it just before the Report a problem window appears,
//! so it shows what the employee was looking at, not the form. Capturing
//! is split from encoding: [`capture`] only copies pixels (a few
//! milliseconds), and [`Capture::to_png`] compresses them later, off the
//! path that opens the window.
//!
//! Per platform: X11 through the X protocol itself (`x11rb`, pure Rust),
//! Windows and macOS through `xcap` (GDI and CoreGraphics). A Wayland
//! session goes through the desktop portal ([`portal`]), because its
//! XWayland server sees only X clients: an X11 capture there would be a
//! black or partial picture.

/// Why no screenshot was taken.
#[derive(Debug, thiserror::Error)]
pub enum ScreenshotError {
    /// This session offers no way to capture the screen.
    #[error("screen capture is not available here: {0}")]
    Unsupported(String),
    /// The capture itself failed.
    #[error("cannot capture the screen: {0}")]
    Capture(String),
    /// The pixels could not be encoded.
    #[error("cannot encode the screenshot: {0}")]
    Encode(String),
}

/// The pixels of one screen, 8-bit RGB, row by row.
#[derive(Clone, PartialEq, Eq)]
pub struct Capture {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

impl std::fmt::Debug for Capture {
    // A screen's pixels are megabytes of noise in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

/// The largest side a report's screenshot keeps: a 4K or multi-monitor
/// desktop is halved (or more) until it fits, which keeps the PNG well
/// under the desk's 10 MiB attachment limit and still readable.
pub const MAX_SIDE: u32 = 2560;

impl Capture {
    /// Decodes a PNG (any colour type and depth) into RGB.
    pub fn from_png(bytes: &[u8]) -> Result<Capture, ScreenshotError> {
        let bad =
            |e: png::DecodingError| ScreenshotError::Capture(format!("not a usable PNG: {e}"));
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().map_err(bad)?;
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| ScreenshotError::Capture("the PNG is too large".into()))?;
        let mut buf = vec![0; size];
        let info = reader.next_frame(&mut buf).map_err(bad)?;
        let data = &buf[..info.buffer_size()];
        let rgb = match info.color_type {
            png::ColorType::Rgb => data.to_vec(),
            png::ColorType::Rgba => data
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
            png::ColorType::Grayscale => data.iter().flat_map(|&g| [g, g, g]).collect(),
            png::ColorType::GrayscaleAlpha => data
                .chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0]])
                .collect(),
            png::ColorType::Indexed => {
                return Err(ScreenshotError::Capture(
                    "an indexed PNG was not expanded".into(),
                ));
            }
        };
        Ok(Capture {
            width: info.width,
            height: info.height,
            rgb,
        })
    }

    /// The picture as PNG, scaled down to at most [`MAX_SIDE`] per side.
    pub fn to_png(&self) -> Result<Vec<u8>, ScreenshotError> {
        let small = self.fit(MAX_SIDE);
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, small.width, small.height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        // Screens are mostly flat colour: fast compression already gets
        // most of the gain at a fraction of the time.
        enc.set_compression(png::Compression::Fast);
        let mut writer = enc
            .write_header()
            .map_err(|e| ScreenshotError::Encode(e.to_string()))?;
        writer
            .write_image_data(&small.rgb)
            .map_err(|e| ScreenshotError::Encode(e.to_string()))?;
        writer
            .finish()
            .map_err(|e| ScreenshotError::Encode(e.to_string()))?;
        Ok(out)
    }

    /// Halves the picture (averaging 2×2 blocks) until both sides fit
    /// `max`.
    fn fit(&self, max: u32) -> std::borrow::Cow<'_, Capture> {
        let mut current = std::borrow::Cow::Borrowed(self);
        while current.width > max || current.height > max {
            current = std::borrow::Cow::Owned(current.halve());
        }
        current
    }

    fn halve(&self) -> Capture {
        let (w, h) = ((self.width / 2).max(1), (self.height / 2).max(1));
        let src_w = self.width as usize;
        let mut rgb = Vec::with_capacity(w as usize * h as usize * 3);
        for y in 0..h as usize {
            for x in 0..w as usize {
                for c in 0..3 {
                    let at = |dx: usize, dy: usize| {
                        let (sx, sy) = (
                            (2 * x + dx).min(src_w - 1),
                            (2 * y + dy).min(self.height as usize - 1),
                        );
                        u16::from(self.rgb[(sy * src_w + sx) * 3 + c])
                    };
                    let sum = at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1);
                    rgb.push(((sum + 2) / 4) as u8);
                }
            }
        }
        Capture {
            width: w,
            height: h,
            rgb,
        }
    }
}

/// Copies the pixels of the (primary) screen.
pub fn capture() -> Result<Capture, ScreenshotError> {
    platform::capture()
}

/// Converts an X11 Z-pixmap of 32 bits per pixel with the visual's colour
/// masks into RGB. `lsb_first` is the server's image byte order.
pub fn rgb_from_zpixmap(
    data: &[u8],
    width: u32,
    height: u32,
    masks: [u32; 3],
    lsb_first: bool,
) -> Result<Capture, ScreenshotError> {
    let pixels = width as usize * height as usize;
    if data.len() < pixels * 4 {
        return Err(ScreenshotError::Capture(format!(
            "the X server sent {} bytes for {width}×{height} pixels",
            data.len()
        )));
    }
    let channel = |pixel: u32, mask: u32| -> u8 {
        if mask == 0 {
            return 0;
        }
        let shift = mask.trailing_zeros();
        let bits = (mask >> shift).count_ones();
        let v = (pixel & mask) >> shift;
        // Scale any channel width (5, 6, 8, 10 bits) to 8.
        if bits >= 8 {
            (v >> (bits - 8)) as u8
        } else {
            ((v * 255 + ((1 << bits) - 1) / 2) / ((1 << bits) - 1)) as u8
        }
    };
    let mut rgb = Vec::with_capacity(pixels * 3);
    for px in data[..pixels * 4].chunks_exact(4) {
        let bytes = [px[0], px[1], px[2], px[3]];
        let p = if lsb_first {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        };
        rgb.extend([
            channel(p, masks[0]),
            channel(p, masks[1]),
            channel(p, masks[2]),
        ]);
    }
    Ok(Capture { width, height, rgb })
}

/// Whether this is a Wayland session (even one with XWayland's
/// `DISPLAY`), where the desktop portal takes the screenshot: `Some` with
/// the reason X11 would not do.
pub fn wayland_session(
    wayland_display: Option<&std::ffi::OsStr>,
    session_type: Option<&std::ffi::OsStr>,
) -> Option<&'static str> {
    let wayland = wayland_display.is_some_and(|d| !d.is_empty())
        || session_type.is_some_and(|t| t.eq_ignore_ascii_case("wayland"));
    wayland.then_some("a Wayland session, whose X server sees only X clients")
}

#[cfg(target_os = "linux")]
mod platform {
    use super::{Capture, ScreenshotError, rgb_from_zpixmap};
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{ConnectionExt, ImageFormat, ImageOrder};

    pub(super) fn capture() -> Result<Capture, ScreenshotError> {
        if let Some(why) = super::wayland_session(
            std::env::var_os("WAYLAND_DISPLAY").as_deref(),
            std::env::var_os("XDG_SESSION_TYPE").as_deref(),
        ) {
            let bus = zbus5::blocking::Connection::session().map_err(|e| {
                ScreenshotError::Unsupported(format!(
                    "{why}, and no session bus for the screenshot portal: {e}"
                ))
            })?;
            return super::portal::capture(bus, super::portal::TIMEOUT);
        }
        x11()
    }

    fn x11() -> Result<Capture, ScreenshotError> {
        if std::env::var_os("DISPLAY").is_none() {
            return Err(ScreenshotError::Unsupported(
                "no X display (DISPLAY is not set)".into(),
            ));
        }
        let (conn, screen_num) =
            x11rb::connect(None).map_err(|e| ScreenshotError::Unsupported(e.to_string()))?;
        let setup = conn.setup();
        let screen = &setup.roots[screen_num];
        let visual = screen
            .allowed_depths
            .iter()
            .flat_map(|d| d.visuals.iter())
            .find(|v| v.visual_id == screen.root_visual)
            .ok_or_else(|| ScreenshotError::Capture("the root window has no visual".into()))?;
        let bpp = setup
            .pixmap_formats
            .iter()
            .find(|f| f.depth == screen.root_depth)
            .map(|f| f.bits_per_pixel);
        if bpp != Some(32) {
            return Err(ScreenshotError::Unsupported(format!(
                "a {}-bit screen ({bpp:?} bits per pixel)",
                screen.root_depth
            )));
        }
        let (w, h) = (screen.width_in_pixels, screen.height_in_pixels);
        let reply = conn
            .get_image(ImageFormat::Z_PIXMAP, screen.root, 0, 0, w, h, !0)
            .map_err(|e| ScreenshotError::Capture(e.to_string()))?
            .reply()
            .map_err(|e| ScreenshotError::Capture(e.to_string()))?;
        rgb_from_zpixmap(
            &reply.data,
            u32::from(w),
            u32::from(h),
            [visual.red_mask, visual.green_mask, visual.blue_mask],
            setup.image_byte_order == ImageOrder::LSB_FIRST,
        )
    }
}

/// The desktop portal's Screenshot interface
/// (`org.freedesktop.portal.Screenshot`), for Wayland sessions: the
/// compositor takes the picture (the desktop may ask the employee once
/// whether Deskside may), saves it, and names the file in its answer.
#[cfg(target_os = "linux")]
pub mod portal {
    use std::collections::HashMap;
    use std::time::Duration;

    use zbus5::blocking::{Connection, Proxy};
    use zbus5::zvariant::{OwnedObjectPath, OwnedValue, Value};

    use super::{Capture, ScreenshotError};

    /// How long the portal may take, a permission question included.
    pub const TIMEOUT: Duration = Duration::from_secs(10);

    /// Asks the portal on `bus` for a picture of the screen, without its
    /// interactive dialog, and waits at most `timeout`. The file the portal
    /// saved is read and removed: the picture belongs to the report, not to
    /// the employee's pictures.
    pub fn capture(bus: Connection, timeout: Duration) -> Result<Capture, ScreenshotError> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("deskside-portal".into())
            .spawn(move || {
                let _ = tx.send(request(&bus));
            })
            .map_err(|e| ScreenshotError::Capture(e.to_string()))?;
        rx.recv_timeout(timeout).unwrap_or_else(|_| {
            Err(ScreenshotError::Capture(format!(
                "the screenshot portal did not answer within {} s",
                timeout.as_secs()
            )))
        })
    }

    /// [`capture`] through the bus at `address` (a private bus, in tests).
    pub fn capture_at(address: &str, timeout: Duration) -> Result<Capture, ScreenshotError> {
        let bus = zbus5::blocking::connection::Builder::address(address)
            .and_then(|b| b.build())
            .map_err(|e| ScreenshotError::Unsupported(format!("no bus at {address}: {e}")))?;
        capture(bus, timeout)
    }

    /// The object path the portal answers on for `token` (its documented
    /// rule, so the answer can be awaited before the call is made).
    pub fn request_path(unique_name: &str, token: &str) -> String {
        let sender = unique_name.trim_start_matches(':').replace('.', "_");
        format!("/org/freedesktop/portal/desktop/request/{sender}/{token}")
    }

    fn request(bus: &Connection) -> Result<Capture, ScreenshotError> {
        let fail =
            |e: zbus5::Error| ScreenshotError::Unsupported(format!("screenshot portal: {e}"));
        let unique = bus
            .unique_name()
            .map(|n| n.to_string())
            .ok_or_else(|| ScreenshotError::Unsupported("no name on the session bus".into()))?;
        let token = format!(
            "deskside{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        let answer = Proxy::new(
            bus,
            "org.freedesktop.portal.Desktop",
            request_path(&unique, &token),
            "org.freedesktop.portal.Request",
        )
        .map_err(fail)?;
        // Subscribed before the call, so a fast answer is not missed.
        let mut responses = answer.receive_signal("Response").map_err(fail)?;
        let portal = Proxy::new(
            bus,
            "org.freedesktop.portal.Desktop",
            "/org/freedesktop/portal/desktop",
            "org.freedesktop.portal.Screenshot",
        )
        .map_err(fail)?;
        let mut options: HashMap<&str, Value<'_>> = HashMap::new();
        options.insert("handle_token", Value::from(token.as_str()));
        options.insert("interactive", Value::from(false));
        let _handle: OwnedObjectPath = portal.call("Screenshot", &("", options)).map_err(fail)?;
        let message = responses
            .next()
            .ok_or_else(|| ScreenshotError::Capture("the portal closed the request".into()))?;
        let (code, results): (u32, HashMap<String, OwnedValue>) = message
            .body()
            .deserialize()
            .map_err(|e| ScreenshotError::Capture(format!("the portal's answer: {e}")))?;
        if code != 0 {
            return Err(ScreenshotError::Capture(format!(
                "the portal refused (response {code}{})",
                if code == 1 { ", cancelled" } else { "" }
            )));
        }
        let uri: String = results
            .get("uri")
            .and_then(|v| String::try_from(v.clone()).ok())
            .ok_or_else(|| ScreenshotError::Capture("the portal named no file".into()))?;
        let path = file_path(&uri)
            .ok_or_else(|| ScreenshotError::Capture(format!("not a local file: {uri}")))?;
        let bytes = std::fs::read(&path)
            .map_err(|e| ScreenshotError::Capture(format!("{}: {e}", path.display())))?;
        // A file left behind (read-only folder) is only untidy.
        let _ = std::fs::remove_file(&path);
        Capture::from_png(&bytes)
    }

    /// The local path of a `file://` URI, percent-decoded.
    pub fn file_path(uri: &str) -> Option<std::path::PathBuf> {
        let rest = uri.strip_prefix("file://")?;
        // `file://localhost/…` is the same file as `file:///…`.
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        if !rest.starts_with('/') {
            return None;
        }
        let bytes = rest.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        use std::os::unix::ffi::OsStringExt;
        Some(std::ffi::OsString::from_vec(out).into())
    }
}

#[cfg(any(windows, target_os = "macos"))]
mod platform {
    use super::{Capture, ScreenshotError};

    pub(super) fn capture() -> Result<Capture, ScreenshotError> {
        let monitors =
            xcap::Monitor::all().map_err(|e| ScreenshotError::Unsupported(e.to_string()))?;
        let monitor = monitors
            .iter()
            .find(|m| m.is_primary().unwrap_or(false))
            .or_else(|| monitors.first())
            .ok_or_else(|| ScreenshotError::Unsupported("no monitor".into()))?;
        let image = monitor
            .capture_image()
            .map_err(|e| ScreenshotError::Capture(e.to_string()))?;
        let (width, height) = (image.width(), image.height());
        let rgb = image
            .as_raw()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        Ok(Capture { width, height, rgb })
    }
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
mod platform {
    use super::{Capture, ScreenshotError};

    pub(super) fn capture() -> Result<Capture, ScreenshotError> {
        Err(ScreenshotError::Unsupported(std::env::consts::OS.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bgrx_pixmap_becomes_rgb() {
        // Two pixels as an LSB-first X server sends them: B G R X.
        let data = [0x10, 0x20, 0x30, 0x00, 0xff, 0x80, 0x00, 0x00];
        let c = rgb_from_zpixmap(&data, 2, 1, [0xff0000, 0x00ff00, 0x0000ff], true).unwrap();
        assert_eq!(c.rgb, vec![0x30, 0x20, 0x10, 0x00, 0x80, 0xff]);
        let be = rgb_from_zpixmap(
            &[0x00, 0x30, 0x20, 0x10],
            1,
            1,
            [0xff0000, 0x00ff00, 0x0000ff],
            false,
        )
        .unwrap();
        assert_eq!(be.rgb, vec![0x30, 0x20, 0x10]);
    }

    #[test]
    fn a_ten_bit_visual_scales_to_eight_bits() {
        // 2-10-10-10: white and black.
        let white = 0x3fff_ffffu32.to_le_bytes();
        let c =
            rgb_from_zpixmap(&white, 1, 1, [0x3ff0_0000, 0x000f_fc00, 0x0000_03ff], true).unwrap();
        assert_eq!(c.rgb, vec![255, 255, 255]);
    }

    #[test]
    fn a_wayland_session_is_not_captured_through_xwayland() {
        use std::ffi::OsStr;
        assert!(wayland_session(Some(OsStr::new("wayland-0")), None).is_some());
        assert!(wayland_session(None, Some(OsStr::new("wayland"))).is_some());
        assert!(wayland_session(None, Some(OsStr::new("x11"))).is_none());
        assert!(wayland_session(Some(OsStr::new("")), None).is_none());
        assert!(wayland_session(None, None).is_none());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn portal_file_uris_become_paths() {
        use std::path::PathBuf;
        assert_eq!(
            portal::file_path("file:///home/kim/Pictures/Screenshot%20from%2012.png"),
            Some(PathBuf::from("/home/kim/Pictures/Screenshot from 12.png"))
        );
        assert_eq!(
            portal::file_path("file://localhost/tmp/a.png"),
            Some(PathBuf::from("/tmp/a.png"))
        );
        assert_eq!(portal::file_path("https://example.com/a.png"), None);
        assert_eq!(portal::file_path("file://server/a.png"), None);
        assert_eq!(portal::file_path("file:///bad%2"), None);
        assert_eq!(
            portal::request_path(":1.42", "deskside7"),
            "/org/freedesktop/portal/desktop/request/1_42/deskside7"
        );
    }

    #[test]
    fn pngs_of_any_colour_type_decode_to_rgb() {
        let c = Capture {
            width: 2,
            height: 1,
            rgb: vec![10, 20, 30, 40, 50, 60],
        };
        assert_eq!(Capture::from_png(&c.to_png().unwrap()).unwrap(), c);
        let mut rgba = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut rgba, 1, 1);
            enc.set_color(png::ColorType::Rgba);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[1, 2, 3, 255]).unwrap();
        }
        assert_eq!(Capture::from_png(&rgba).unwrap().rgb, vec![1, 2, 3]);
        assert!(Capture::from_png(b"not a png").is_err());
    }

    #[test]
    fn a_short_reply_is_an_error() {
        let e = rgb_from_zpixmap(&[0; 7], 2, 1, [0xff0000, 0xff00, 0xff], true).unwrap_err();
        assert!(e.to_string().contains("7 bytes"), "{e}");
    }

    #[test]
    fn png_round_trips_and_large_screens_are_scaled_down() {
        let mut rgb = Vec::new();
        for i in 0..(4 * 3) {
            rgb.extend([i as u8 * 20, 100, 200]);
        }
        let small = Capture {
            width: 4,
            height: 3,
            rgb: rgb.clone(),
        };
        let png = small.to_png().unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (4, 3));
        assert_eq!(&buf[..info.buffer_size()], &rgb[..]);

        let big = Capture {
            width: MAX_SIDE * 2 + 2,
            height: 10,
            rgb: vec![7; (MAX_SIDE as usize * 2 + 2) * 10 * 3],
        };
        let fitted = big.fit(MAX_SIDE);
        assert!(fitted.width <= MAX_SIDE, "{}", fitted.width);
        assert_eq!(fitted.height, 2);
        assert!(
            fitted.rgb.iter().all(|&b| b == 7),
            "averages of equal pixels"
        );
    }
}
