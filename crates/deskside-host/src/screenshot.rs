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
//! session reports [`ScreenshotError::Unsupported`]: its XWayland server
//! sees only X clients, so an X11 capture there would be a black or partial
//! picture, worse than none. (The desktop portal's Screenshot interface is
//! the way there.)

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

/// Why X11 capture would mislead in this session, if it would: `Some`
/// for a Wayland session (even one with XWayland's `DISPLAY`).
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
            return Err(ScreenshotError::Unsupported(why.into()));
        }
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
