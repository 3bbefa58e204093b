//! Product images: check an upload, set it upright and write its renditions.
//!
//! [`process`] takes the uploaded bytes and returns one [`Rendition`] per [`RenditionSize`], or an
//! [`ImageRejected`] whose [`code`](ImageRejected::code) is stable for programs and whose message
//! is written for the vendor who uploaded the file.
//!
//! What it guarantees:
//! - The type is judged by the bytes, never by a name or a claimed content type: only JPEG, PNG
//!   and WebP signatures are decoded. Another known image signature (GIF, BMP, TIFF, AVIF, ...)
//!   is `unsupported_type`; anything else is `not_an_image`.
//! - Size and dimensions are checked before any pixel is decoded: the byte size first, then the
//!   width, height and pixel count read from the header, so a small file that claims a huge image
//!   (a decompression bomb) is refused without allocating it. The decoder also runs under an
//!   allocation limit.
//! - The EXIF orientation, where there is one, is applied, so renditions are upright and carry
//!   no orientation of their own.
//! - Renditions are encoded afresh from pixels: no EXIF (camera, GPS), XMP, IPTC, ICC profile or
//!   comment of the upload reaches them.
//! - Images with any transparent pixel become PNG; all others (including a PNG whose alpha
//!   channel is fully opaque) become JPEG at quality [`JPEG_QUALITY`].
//! - Never upscaled: every size is always produced, at the target length on the long side or at
//!   the original's own size where the original is smaller. A caller can therefore rely on all
//!   three renditions existing; for a small original two or three of them have the same pixels.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};
use serde::{Deserialize, Serialize};

/// The largest upload accepted: 10 MiB.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

/// JPEG quality of the renditions (1-100): visually clean for product photos at about a tenth of
/// the size of quality 100.
pub const JPEG_QUALITY: u8 = 82;

/// What an upload may be. [`Limits::default`] is what the catalog accepts; tests and tools may
/// tighten it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest file, in bytes.
    pub max_bytes: usize,
    /// Largest width or height, in pixels.
    pub max_side: u32,
    /// Largest width × height.
    pub max_pixels: u64,
    /// Most memory the decoder may allocate, in bytes.
    pub max_decoder_alloc: u64,
}

impl Default for Limits {
    /// 10 MiB; at most 12,000 px on a side and 50 megapixels (a phone's 48 MP photo is accepted,
    /// a 61 MP camera's is not); the decoder may allocate at most 512 MiB. The largest accepted
    /// image needs about 800 MiB while it is processed: give the function 1 GB or more.
    fn default() -> Self {
        Self { max_bytes: MAX_UPLOAD_BYTES, max_side: 12_000, max_pixels: 50_000_000, max_decoder_alloc: 512 << 20 }
    }
}

/// The accepted upload types, as detected from the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Jpeg,
    Png,
    Webp,
}

impl SourceFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    /// The name a vendor knows the type by.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
            Self::Webp => "WebP",
        }
    }

    fn of(format: ImageFormat) -> Option<Self> {
        match format {
            ImageFormat::Jpeg => Some(Self::Jpeg),
            ImageFormat::Png => Some(Self::Png),
            ImageFormat::WebP => Some(Self::Webp),
            _ => None,
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::Webp => ImageFormat::WebP,
        }
    }
}

/// The three renditions written for every image, by their length on the long side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenditionSize {
    /// 160 px: lists, carts, search results.
    Thumbnail,
    /// 480 px: product cards and grids.
    Medium,
    /// 1200 px: the product page and zoom.
    Large,
}

impl RenditionSize {
    /// Largest first, the order in which [`process`] writes them (each from the one before).
    pub const ALL: [Self; 3] = [Self::Large, Self::Medium, Self::Thumbnail];

    /// The target length of the long side, in pixels.
    pub fn long_side(self) -> u32 {
        match self {
            Self::Thumbnail => 160,
            Self::Medium => 480,
            Self::Large => 1200,
        }
    }

    /// A stable name for keys and JSON: `thumbnail`, `medium`, `large`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Thumbnail => "thumbnail",
            Self::Medium => "medium",
            Self::Large => "large",
        }
    }
}

/// The type of an encoded rendition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Opaque images.
    Jpeg,
    /// Images with transparency.
    Png,
}

impl OutputFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    /// The file extension without a dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
        }
    }
}

/// One encoded rendition.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendition {
    pub size: RenditionSize,
    pub width: u32,
    pub height: u32,
    pub format: OutputFormat,
    pub bytes: Vec<u8>,
}

impl Rendition {
    pub fn content_type(&self) -> &'static str {
        self.format.content_type()
    }
}

impl std::fmt::Debug for Rendition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendition")
            .field("size", &self.size)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .finish()
    }
}

/// What the upload was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Original {
    pub format: SourceFormat,
    /// Width as displayed, that is after the EXIF orientation (a portrait photo stored sideways
    /// reports its portrait width).
    pub width: u32,
    /// Height as displayed.
    pub height: u32,
}

/// The result of [`process`]: the upload's type and size, and one rendition per
/// [`RenditionSize`], largest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    pub original: Original,
    pub renditions: Vec<Rendition>,
}

impl Processed {
    pub fn rendition(&self, size: RenditionSize) -> Option<&Rendition> {
        self.renditions.iter().find(|r| r.size == size)
    }
}

/// Why an upload was refused. [`code`](Self::code) is stable (API responses, metrics); the
/// `Display` text is the reason shown to the vendor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRejected {
    #[error("the file is not an image: upload a JPEG, PNG or WebP")]
    NotAnImage,
    #[error("{detected} images are not accepted: upload a JPEG, PNG or WebP")]
    UnsupportedType {
        /// The type the bytes look like, such as `GIF`.
        detected: String,
    },
    #[error("the file is {size} bytes, more than the {max} bytes (10 MB) allowed")]
    TooLarge { size: usize, max: usize },
    #[error(
        "the image is {width} × {height} pixels, more than allowed \
         (at most {max_side} pixels on a side and {max_pixels} pixels in all)"
    )]
    TooManyPixels { width: u32, height: u32, max_side: u32, max_pixels: u64 },
    #[error("the file looks like a {} image but cannot be read: it may be damaged or incomplete", .format.name())]
    Corrupt {
        format: SourceFormat,
        /// The decoder's own words, for logs rather than for the vendor.
        detail: String,
    },
}

impl ImageRejected {
    /// `not_an_image`, `unsupported_type`, `too_large`, `too_many_pixels` or `corrupt`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAnImage => "not_an_image",
            Self::UnsupportedType { .. } => "unsupported_type",
            Self::TooLarge { .. } => "too_large",
            Self::TooManyPixels { .. } => "too_many_pixels",
            Self::Corrupt { .. } => "corrupt",
        }
    }
}

/// Checks an upload and writes its renditions; see the module documentation for the rules.
/// Synchronous and CPU-bound, one core: about 0.4 s for a 12-megapixel, 8 MB JPEG on this project's
/// 2-core machine in a debug build (dependencies optimised), mostly decoding and the first
/// reduction; call it from `spawn_blocking` in an async handler. Memory: about four times the
/// decoded image (a 12 MP photo: some 150 MB).
pub fn process(bytes: &[u8], limits: &Limits) -> Result<Processed, ImageRejected> {
    if bytes.len() > limits.max_bytes {
        return Err(ImageRejected::TooLarge { size: bytes.len(), max: limits.max_bytes });
    }
    let format = detect(bytes)?;
    let too_many = |width, height| ImageRejected::TooManyPixels {
        width,
        height,
        max_side: limits.max_side,
        max_pixels: limits.max_pixels,
    };
    let corrupt = |e: ImageError| ImageRejected::Corrupt { format, detail: e.to_string() };

    // The decoder may allocate at most `max_decoder_alloc`; the header is read first so that the
    // sides and pixel count are checked (with a message that gives them) before any pixel is.
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(limits.max_decoder_alloc);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    reader.limits(decoder_limits.clone());
    let mut decoder = match reader.into_decoder() {
        Ok(decoder) => decoder,
        Err(ImageError::Limits(_)) => {
            let (width, height) = header_dimensions(bytes, format).unwrap_or((0, 0));
            return Err(too_many(width, height));
        }
        Err(e) => return Err(corrupt(e)),
    };
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ImageRejected::Corrupt { format, detail: "the image has no pixels".into() });
    }
    if width > limits.max_side || height > limits.max_side || u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(too_many(width, height));
    }
    // The same sides again as the decoder's own strict limits, so no later frame or chunk can
    // make it allocate beyond them.
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    decoder.set_limits(decoder_limits).map_err(|_| too_many(width, height))?;
    // A damaged EXIF block is no reason to refuse a picture that decodes: it is shown as stored.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        ImageError::Limits(_) => too_many(width, height),
        e => corrupt(e),
    })?;
    picture.apply_orientation(orientation);

    // Eight bits per channel from here on; the alpha channel only where something is see-through.
    let (picture, output) = if picture.color().has_alpha() {
        let rgba = picture.into_rgba8();
        if rgba.pixels().any(|p| p.0[3] < u8::MAX) {
            (DynamicImage::ImageRgba8(rgba), OutputFormat::Png)
        } else {
            (DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(rgba).into_rgb8()), OutputFormat::Jpeg)
        }
    } else {
        (DynamicImage::ImageRgb8(picture.into_rgb8()), OutputFormat::Jpeg)
    };

    let original = Original { format, width: picture.width(), height: picture.height() };
    let mut renditions = Vec::with_capacity(RenditionSize::ALL.len());
    // Each size is resized from the previous, larger one: much less work than from the original
    // each time, and no visible difference. Reductions to half or less average the source pixels
    // each output pixel covers (a box filter: the right one for large reductions, and several
    // times faster than a wide Catmull-Rom kernel); smaller ones use Catmull-Rom (sharp, no
    // ringing to speak of).
    let mut source = picture;
    for size in RenditionSize::ALL {
        let (w, h) = fit(source.width(), source.height(), size.long_side());
        if (w, h) != (source.width(), source.height()) {
            source = if source.width() >= 2 * w && source.height() >= 2 * h {
                source.thumbnail_exact(w, h)
            } else {
                source.resize_exact(w, h, FilterType::CatmullRom)
            };
        }
        let bytes = encode(&source, output).map_err(corrupt)?;
        renditions.push(Rendition { size, width: w, height: h, format: output, bytes });
    }
    Ok(Processed { original, renditions })
}

/// The accepted type the bytes' signature shows, or why not.
fn detect(bytes: &[u8]) -> Result<SourceFormat, ImageRejected> {
    let guessed = image::guess_format(bytes).map_err(|_| ImageRejected::NotAnImage)?;
    SourceFormat::of(guessed).ok_or_else(|| ImageRejected::UnsupportedType { detected: type_name(guessed).into() })
}

fn type_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Gif => "GIF",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Avif => "AVIF",
        ImageFormat::Ico => "ICO",
        ImageFormat::Pnm => "PNM",
        ImageFormat::Dds => "DDS",
        ImageFormat::Hdr => "HDR",
        ImageFormat::OpenExr => "OpenEXR",
        ImageFormat::Qoi => "QOI",
        ImageFormat::Farbfeld => "Farbfeld",
        ImageFormat::Tga => "TGA",
        _ => "These",
    }
}

/// Width and height read from the header without any limit, for the message when the decoder
/// refused the header itself under its allocation limit.
fn header_dimensions(bytes: &[u8], format: SourceFormat) -> Option<(u32, u32)> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    reader.no_limits();
    reader.into_dimensions().ok()
}

/// The size that fits `long_side` on the longer side, keeping the aspect ratio (rounded to the
/// nearest pixel, at least 1), and never larger than the source.
fn fit(width: u32, height: u32, long_side: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= long_side {
        return (width, height);
    }
    let scale = |side: u32| {
        let scaled = (u64::from(side) * u64::from(long_side) + u64::from(longest) / 2) / u64::from(longest);
        u32::try_from(scaled).unwrap_or(long_side).max(1)
    };
    (scale(width), scale(height))
}

fn encode(picture: &DynamicImage, format: OutputFormat) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    match format {
        OutputFormat::Jpeg => picture.write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))?,
        OutputFormat::Png => picture.write_with_encoder(PngEncoder::new_with_quality(
            &mut out,
            CompressionType::Default,
            PngFilter::Adaptive,
        ))?,
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use image::codecs::webp::WebPEncoder;
    use image::{GrayImage, ImageBuffer, Luma, Rgb, RgbImage, Rgba, RgbaImage};

    use super::*;

    fn jpeg(img: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_with_encoder(JpegEncoder::new_with_quality(&mut out, 90)).unwrap();
        out
    }

    fn png<P: image::PixelWithColorType>(img: &ImageBuffer<P, Vec<P::Subpixel>>) -> Vec<u8>
    where
        [P::Subpixel]: image::EncodableLayout,
    {
        let mut out = Vec::new();
        img.write_with_encoder(PngEncoder::new(&mut out)).unwrap();
        out
    }

    /// A photo-like picture: smooth gradients, so JPEG stays small and resizing has work to do.
    fn photo(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128]))
    }

    fn decode(bytes: &[u8]) -> DynamicImage {
        image::load_from_memory(bytes).unwrap()
    }

    fn sizes(processed: &Processed) -> Vec<(RenditionSize, u32, u32)> {
        processed.renditions.iter().map(|r| (r.size, r.width, r.height)).collect()
    }

    fn rejected(bytes: &[u8]) -> ImageRejected {
        process(bytes, &Limits::default()).unwrap_err()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    /// An EXIF block (big-endian TIFF) with an orientation, a camera make and a GPS position:
    /// IFD0 at 8 (3 entries), the make at 50, the GPS IFD at 64 (2 entries), its rationals at 94.
    fn exif(orientation: u16) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend(b"MM\0\x2a\0\0\0\x08");
        let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
            t.extend(tag.to_be_bytes());
            t.extend(kind.to_be_bytes());
            t.extend(count.to_be_bytes());
            t.extend(value);
        };
        t.extend(3u16.to_be_bytes());
        entry(&mut t, 0x010f, 2, 13, 50u32.to_be_bytes()); // Make, ASCII
        let o = orientation.to_be_bytes();
        entry(&mut t, 0x0112, 3, 1, [o[0], o[1], 0, 0]); // Orientation, SHORT
        entry(&mut t, 0x8825, 4, 1, 64u32.to_be_bytes()); // GPS IFD pointer, LONG
        t.extend(0u32.to_be_bytes());
        assert_eq!(t.len(), 50);
        t.extend(b"StockyardCam\0\0");
        assert_eq!(t.len(), 64);
        t.extend(2u16.to_be_bytes());
        entry(&mut t, 0x0001, 2, 2, *b"N\0\0\0"); // GPSLatitudeRef
        entry(&mut t, 0x0002, 5, 3, 94u32.to_be_bytes()); // GPSLatitude, 3 RATIONALs
        t.extend(0u32.to_be_bytes());
        assert_eq!(t.len(), 94);
        for (n, d) in [(51u32, 1u32), (30, 1), (1234, 100)] {
            t.extend(n.to_be_bytes());
            t.extend(d.to_be_bytes());
        }
        let mut app1 = vec![0xff, 0xe1];
        app1.extend(u16::try_from(2 + 6 + t.len()).unwrap().to_be_bytes());
        app1.extend(b"Exif\0\0");
        app1.extend(t);
        app1
    }

    /// The JPEG with an APP1 segment inserted right after its start-of-image marker.
    fn with_exif(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
        let mut out = jpeg[..2].to_vec();
        out.extend(exif(orientation));
        out.extend(&jpeg[2..]);
        out
    }

    /// The JPEG with its frame header (SOF0) claiming another size: a decompression bomb's header.
    fn claiming(jpeg: &[u8], width: u16, height: u16) -> Vec<u8> {
        let mut out = jpeg.to_vec();
        let sof = out.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        // Marker (2), length (2), precision (1), then height and width.
        out[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
        out[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
        out
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = u32::MAX;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn a_photo_gets_three_jpeg_renditions_by_its_long_side() {
        let processed = process(&jpeg(&photo(1600, 1000)), &Limits::default()).unwrap();
        assert_eq!(processed.original, Original { format: SourceFormat::Jpeg, width: 1600, height: 1000 });
        assert_eq!(
            sizes(&processed),
            [
                (RenditionSize::Large, 1200, 750),
                (RenditionSize::Medium, 480, 300),
                (RenditionSize::Thumbnail, 160, 100)
            ]
        );
        for rendition in &processed.renditions {
            assert_eq!(rendition.format, OutputFormat::Jpeg);
            assert_eq!(rendition.content_type(), "image/jpeg");
            assert_eq!(image::guess_format(&rendition.bytes).unwrap(), ImageFormat::Jpeg);
            let decoded = decode(&rendition.bytes);
            assert_eq!((decoded.width(), decoded.height()), (rendition.width, rendition.height));
            // The gradient survives resizing: dark on the left, bright on the right.
            let rgb = decoded.to_rgb8();
            let (left, right) = (
                rgb.get_pixel(2, rendition.height / 2)[0],
                rgb.get_pixel(rendition.width - 3, rendition.height / 2)[0],
            );
            assert!(left < 20 && right > 235, "{:?}: {left} {right}", rendition.size);
        }
        assert_eq!(processed.rendition(RenditionSize::Medium).map(|r| r.width), Some(480));
    }

    #[test]
    fn a_portrait_is_fitted_by_its_height() {
        let processed = process(&jpeg(&photo(900, 1500)), &Limits::default()).unwrap();
        assert_eq!(
            sizes(&processed),
            [(RenditionSize::Large, 720, 1200), (RenditionSize::Medium, 288, 480), (RenditionSize::Thumbnail, 96, 160)]
        );
    }

    #[test]
    fn a_small_original_is_never_upscaled_but_every_size_is_still_written() {
        let processed = process(&jpeg(&photo(300, 200)), &Limits::default()).unwrap();
        assert_eq!(
            sizes(&processed),
            [(RenditionSize::Large, 300, 200), (RenditionSize::Medium, 300, 200), (RenditionSize::Thumbnail, 160, 107)]
        );
        let tiny = process(&jpeg(&photo(1, 1)), &Limits::default()).unwrap();
        assert!(tiny.renditions.iter().all(|r| (r.width, r.height) == (1, 1)));
        // A very wide strip keeps at least one pixel of height.
        let strip = process(&jpeg(&photo(2000, 2)), &Limits::default()).unwrap();
        assert_eq!(sizes(&strip)[2], (RenditionSize::Thumbnail, 160, 1));
    }

    #[test]
    fn exif_camera_and_gps_data_never_reach_a_rendition() {
        let upload = with_exif(&jpeg(&photo(1300, 800)), 1);
        // The upload really carries them, and the decoder reads them.
        assert!(contains(&upload, b"Exif\0\0") && contains(&upload, b"StockyardCam"));
        let mut decoder = ImageReader::new(Cursor::new(&upload)).with_guessed_format().unwrap().into_decoder().unwrap();
        assert!(decoder.exif_metadata().unwrap().is_some());

        let processed = process(&upload, &Limits::default()).unwrap();
        assert_eq!(processed.renditions.len(), 3);
        for rendition in &processed.renditions {
            assert!(!contains(&rendition.bytes, b"Exif"), "{:?} has an Exif marker", rendition.size);
            assert!(!contains(&rendition.bytes, b"StockyardCam"), "{:?} has the camera make", rendition.size);
            // No APP1 (EXIF/XMP) segment at all.
            assert!(!contains(&rendition.bytes, &[0xff, 0xe1]), "{:?} has an APP1 segment", rendition.size);
            let mut decoder =
                ImageReader::new(Cursor::new(&rendition.bytes)).with_guessed_format().unwrap().into_decoder().unwrap();
            assert_eq!(decoder.exif_metadata().unwrap(), None);
        }
    }

    #[test]
    fn a_photo_stored_sideways_is_turned_upright_by_its_exif_orientation() {
        // Stored 40 × 20: red on the left, blue on the right. Orientation 6 says "rotate 90°
        // clockwise to display": upright it is 20 × 40, red on top and blue below.
        let stored = RgbImage::from_fn(40, 20, |x, _| if x < 20 { Rgb([230, 20, 20]) } else { Rgb([20, 20, 230]) });
        let processed = process(&with_exif(&jpeg(&stored), 6), &Limits::default()).unwrap();
        assert_eq!((processed.original.width, processed.original.height), (20, 40));
        let large = decode(&processed.renditions[0].bytes).to_rgb8();
        assert_eq!(large.dimensions(), (20, 40));
        let (top, bottom) = (large.get_pixel(10, 5), large.get_pixel(10, 35));
        assert!(top[0] > 180 && top[2] < 80, "top {top:?}");
        assert!(bottom[2] > 180 && bottom[0] < 80, "bottom {bottom:?}");

        // Without the orientation the same pixels stay as stored.
        let as_stored = process(&jpeg(&stored), &Limits::default()).unwrap();
        assert_eq!((as_stored.original.width, as_stored.original.height), (40, 20));
    }

    #[test]
    fn transparency_gives_png_renditions_that_keep_it() {
        let logo =
            RgbaImage::from_fn(600, 300, |x, _| if x < 300 { Rgba([200, 30, 30, 255]) } else { Rgba([0, 0, 0, 0]) });
        let processed = process(&png(&logo), &Limits::default()).unwrap();
        assert_eq!(processed.original, Original { format: SourceFormat::Png, width: 600, height: 300 });
        assert_eq!(sizes(&processed)[1], (RenditionSize::Medium, 480, 240));
        for rendition in &processed.renditions {
            assert_eq!((rendition.format, rendition.content_type()), (OutputFormat::Png, "image/png"));
            let decoded = decode(&rendition.bytes).to_rgba8();
            assert_eq!(decoded.get_pixel(1, 1)[3], 255);
            assert_eq!(decoded.get_pixel(rendition.width - 2, 1)[3], 0);
        }
    }

    #[test]
    fn an_opaque_png_even_with_an_alpha_channel_becomes_jpeg() {
        let opaque = RgbaImage::from_fn(200, 100, |x, y| Rgba([x as u8, y as u8, 50, 255]));
        let processed = process(&png(&opaque), &Limits::default()).unwrap();
        assert_eq!(processed.original.format, SourceFormat::Png);
        assert!(processed.renditions.iter().all(|r| r.format == OutputFormat::Jpeg));
        // Sixteen-bit grey is read too.
        let grey = ImageBuffer::<Luma<u16>, Vec<u16>>::from_fn(300, 100, |x, _| Luma([(x * 200) as u16]));
        let processed = process(&png(&grey), &Limits::default()).unwrap();
        assert_eq!(sizes(&processed)[2], (RenditionSize::Thumbnail, 160, 53));
        assert!(processed.renditions.iter().all(|r| r.format == OutputFormat::Jpeg));
    }

    #[test]
    fn webp_is_accepted() {
        let mut upload = Vec::new();
        photo(500, 250).write_with_encoder(WebPEncoder::new_lossless(&mut upload)).unwrap();
        let processed = process(&upload, &Limits::default()).unwrap();
        assert_eq!(processed.original, Original { format: SourceFormat::Webp, width: 500, height: 250 });
        assert_eq!(sizes(&processed)[1], (RenditionSize::Medium, 480, 240));
        assert_eq!(SourceFormat::Webp.content_type(), "image/webp");
    }

    #[test]
    fn other_image_types_are_refused_by_their_content_whatever_they_claim() {
        let gif = [b"GIF89a".as_slice(), &[1, 0, 1, 0, 0, 0, 0, 0x3b]].concat();
        let bmp = [b"BM".as_slice(), &[0; 60]].concat();
        let tiff = [b"II*\0".as_slice(), &[8, 0, 0, 0, 0, 0]].concat();
        for (bytes, name) in [(gif, "GIF"), (bmp, "BMP"), (tiff, "TIFF")] {
            let err = rejected(&bytes);
            assert_eq!(err, ImageRejected::UnsupportedType { detected: name.into() });
            assert_eq!(err.code(), "unsupported_type");
            assert_eq!(err.to_string(), format!("{name} images are not accepted: upload a JPEG, PNG or WebP"));
        }
        for bytes in
            [b"".as_slice(), b"hello, world", b"%PDF-1.7\n%\xe2\xe3", b"<svg xmlns='http://www.w3.org/2000/svg'/>"]
        {
            let err = rejected(bytes);
            assert_eq!(err, ImageRejected::NotAnImage);
            assert_eq!(err.code(), "not_an_image");
        }
        // A JPEG is a JPEG wherever its name or claimed type says otherwise: the content decides.
        let processed = process(&jpeg(&photo(10, 10)), &Limits::default()).unwrap();
        assert_eq!(processed.original.format, SourceFormat::Jpeg);
    }

    #[test]
    fn more_than_ten_megabytes_is_refused_before_decoding() {
        let mut upload = jpeg(&photo(16, 16));
        upload.resize(MAX_UPLOAD_BYTES + 1, 0);
        let err = rejected(&upload);
        assert_eq!(err, ImageRejected::TooLarge { size: MAX_UPLOAD_BYTES + 1, max: MAX_UPLOAD_BYTES });
        assert_eq!(err.code(), "too_large");
        assert_eq!(MAX_UPLOAD_BYTES, 10_485_760);
        // Exactly at the limit is not "too large" (this one decodes: trailing bytes are ignored).
        upload.truncate(MAX_UPLOAD_BYTES);
        assert_eq!(process(&upload, &Limits::default()).map(|p| p.original.width), Ok(16));
        let small = Limits { max_bytes: 100, ..Limits::default() };
        assert_eq!(process(&jpeg(&photo(64, 64)), &small).unwrap_err().code(), "too_large");
    }

    #[test]
    fn a_small_file_claiming_a_huge_image_is_refused_from_its_header() {
        let small = jpeg(&photo(16, 16));
        // 100 megapixels, each side within the limit: refused for the pixel count.
        let err = rejected(&claiming(&small, 10_000, 10_000));
        assert_eq!(
            err,
            ImageRejected::TooManyPixels { width: 10_000, height: 10_000, max_side: 12_000, max_pixels: 50_000_000 }
        );
        assert_eq!(err.code(), "too_many_pixels");
        assert!(err.to_string().contains("10000 × 10000 pixels"), "{err}");
        // Few pixels but too long a side.
        assert_eq!(rejected(&claiming(&small, 13_000, 10)).code(), "too_many_pixels");

        // A PNG header (with a correct checksum) claiming 30,000 × 30,000.
        let mut bomb = png(&GrayImage::new(8, 8));
        bomb[16..20].copy_from_slice(&30_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&30_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(rejected(&bomb), ImageRejected::TooManyPixels { width: 30_000, height: 30_000, .. }));

        // Tighter limits apply to real images too.
        let limits = Limits { max_pixels: 5_000, ..Limits::default() };
        let err = process(&jpeg(&photo(100, 100)), &limits).unwrap_err();
        assert_eq!(err, ImageRejected::TooManyPixels { width: 100, height: 100, max_side: 12_000, max_pixels: 5_000 });
        let limits = Limits { max_side: 99, ..Limits::default() };
        assert_eq!(process(&jpeg(&photo(100, 10)), &limits).unwrap_err().code(), "too_many_pixels");
        assert!(process(&jpeg(&photo(99, 99)), &limits).is_ok());
    }

    #[test]
    fn damaged_files_of_an_accepted_type_are_corrupt() {
        let whole = jpeg(&photo(64, 64));
        for cut in [3, 20, 100] {
            let err = rejected(&whole[..cut]);
            assert_eq!(err.code(), "corrupt", "cut at {cut}: {err:?}");
            assert_eq!(
                err.to_string(),
                "the file looks like a JPEG image but cannot be read: it may be damaged or incomplete"
            );
        }
        let png_bytes = png(&photo(64, 64));
        let err = rejected(&png_bytes[..png_bytes.len() / 2]);
        assert!(
            matches!(&err, ImageRejected::Corrupt { format: SourceFormat::Png, detail } if !detail.is_empty()),
            "{err:?}"
        );
        let err = rejected(b"RIFF\x10\0\0\0WEBPVP8 garbage!");
        assert_eq!(err.code(), "corrupt");
        assert!(err.to_string().contains("WebP"), "{err}");
    }

    #[test]
    fn fitting_keeps_the_aspect_ratio_rounding_to_the_nearest_pixel() {
        assert_eq!(fit(1600, 1000, 1200), (1200, 750));
        assert_eq!(fit(1000, 1600, 480), (300, 480));
        assert_eq!(fit(300, 200, 160), (160, 107));
        assert_eq!(fit(1200, 1200, 1200), (1200, 1200));
        assert_eq!(fit(5000, 1, 160), (160, 1));
        assert_eq!(fit(12_000, 11_999, 160), (160, 160));
    }
}
