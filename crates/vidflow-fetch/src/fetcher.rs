//! The fetcher: pages and images from the web, local files and `data:` URLs.

use std::fmt;
use std::io::ErrorKind as IoKind;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue, LOCATION};
use url::{Host, Url};
use vidflow_core::{Config, Page, VidflowError};

use crate::data_url::{abbreviate, decode_data_url};
use crate::guard::{AddressGuard, ForbiddenAddress, GuardedResolver, LookupFailure};
use crate::local::{describe, path_of_file_url, read_file};
use crate::media::{
    ContentType, human_bytes, page_type_for_extension, sniff_charset, sniff_image_type,
    sniff_page_type,
};

/// The limits and permissions every fetch obeys.
///
/// ```
/// use vidflow_fetch::FetchPolicy;
/// let local = FetchPolicy { allow_private_network: true, ..FetchPolicy::default() };
/// assert_eq!(local.max_redirects, 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Allow loopback, private, link-local and other non-public addresses
    /// (`--allow-private-network`). Off by default: a fetch must not reach into the
    /// network vidflow runs in.
    pub allow_private_network: bool,
    /// Redirects followed before giving up (default 5).
    pub max_redirects: usize,
    /// Time for one whole fetch, every redirect hop and the body included (default 20 s).
    pub timeout: Duration,
    /// Largest page body read (default 10 MiB); reading stops at the limit.
    pub max_bytes: u64,
    /// Largest image read (default 8 MiB).
    pub max_image_bytes: u64,
    /// Largest image by the width × height its header declares (default 40 megapixels).
    /// Checked before anything decodes it: a few KB can declare gigapixels.
    pub max_decoded_pixels: u64,
    /// `User-Agent` sent with every request.
    pub user_agent: String,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allow_private_network: false,
            max_redirects: 5,
            timeout: Duration::from_secs(20),
            max_bytes: 10 * 1024 * 1024,
            max_image_bytes: 8 * 1024 * 1024,
            max_decoded_pixels: 40_000_000,
            user_agent: concat!(
                "vidflow/",
                env!("CARGO_PKG_VERSION"),
                " (+https://example.invalid/vidflow)"
            )
            .to_owned(),
        }
    }
}

impl FetchPolicy {
    /// The policy `config` sets: its `[limits]`, `timeouts.fetch` and
    /// `allow_private_network`.
    ///
    /// ```
    /// let mut config = vidflow_core::Config::default();
    /// config.limits.max_redirects = 2;
    /// let policy = vidflow_fetch::FetchPolicy::from_config(&config);
    /// assert_eq!(policy.max_redirects, 2);
    /// ```
    pub fn from_config(config: &Config) -> FetchPolicy {
        let limits = &config.limits;
        FetchPolicy {
            allow_private_network: config.allow_private_network,
            max_redirects: limits.max_redirects,
            timeout: Duration::from_secs(config.timeouts.fetch),
            max_bytes: limits.max_page_bytes,
            max_image_bytes: limits.max_image_bytes,
            max_decoded_pixels: limits.max_decoded_pixels,
            ..FetchPolicy::default()
        }
    }
}

/// What is being fetched; decides accepted types, size limit and the wording of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    Page,
    Image,
}

impl Resource {
    fn noun(self) -> &'static str {
        match self {
            Resource::Page => "page",
            Resource::Image => "image",
        }
    }

    fn accept(self) -> &'static str {
        match self {
            Resource::Page => "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8",
            Resource::Image => "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8",
        }
    }
}

/// Where a page or image comes from, as the user wrote it.
enum Source {
    Web(Url),
    File(PathBuf),
}

/// A successful HTTP fetch.
struct HttpBody {
    final_url: Url,
    content_type: ContentType,
    body: Vec<u8>,
}

/// Fetches pages and images under a [`FetchPolicy`].
///
/// Build one and share it: it holds a connection pool, and clones share it too.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: Arc<FetchPolicy>,
    guard: AddressGuard,
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// Builds a fetcher. Fails only when the policy cannot be expressed (a user agent that is
    /// not a valid header value) or the TLS backend cannot start.
    pub fn new(policy: FetchPolicy) -> Result<Fetcher, VidflowError> {
        let guard = AddressGuard::new(policy.allow_private_network);
        Self::with_guard(policy, guard)
    }

    /// A fetcher whose guard lets the IP-literal hosts `exempt` through (on top of public
    /// addresses), so that tests can serve from one loopback address and prove that every
    /// other one, and every name resolving to one, is refused.
    #[cfg(test)]
    pub(crate) fn with_exempt_literals(
        policy: FetchPolicy,
        exempt: Vec<IpAddr>,
    ) -> Result<Fetcher, VidflowError> {
        let mut guard = AddressGuard::new(policy.allow_private_network);
        guard.exempt_literals = Arc::from(exempt);
        Self::with_guard(policy, guard)
    }

    fn with_guard(policy: FetchPolicy, guard: AddressGuard) -> Result<Fetcher, VidflowError> {
        let user_agent = HeaderValue::from_str(&policy.user_agent).map_err(|_| {
            VidflowError::bad_input(format!(
                "user agent {:?} is not a valid HTTP header value",
                policy.user_agent
            ))
        })?;
        let client = reqwest::Client::builder()
            // Redirects are followed by hand so that every hop is checked (scheme, address).
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(GuardedResolver::with_guard(guard.clone()))
            // A proxy would resolve names itself, out of the guard's sight.
            .no_proxy()
            .user_agent(user_agent)
            .connect_timeout(policy.timeout)
            .build()
            .map_err(|e| {
                VidflowError::internal(format!("cannot build the HTTP client: {}", chain(&e)))
            })?;
        Ok(Fetcher {
            client,
            policy: Arc::new(policy),
            guard,
        })
    }

    /// The policy this fetcher enforces.
    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// Fetches a page: an `http://` or `https://` URL, a `file://` URL, or a local path
    /// (relative to the working directory, or absolute).
    ///
    /// Web pages must be `text/html`, `application/xhtml+xml` or `text/plain` (a missing
    /// `Content-Type` is decided by the bytes); local files are typed by extension
    /// (`.html`, `.htm`, `.xhtml`, `.txt`) or, failing that, by content. The charset is the
    /// one the `Content-Type` header names, else the one the page declares (BOM or
    /// `<meta charset>`).
    ///
    /// Errors: [`ErrorKind::BadInput`](vidflow_core::ErrorKind::BadInput) for anything the
    /// user must fix (bad URL, unreachable host, 4xx, wrong type, empty or oversized body,
    /// too many redirects, non-public address, missing file, directory);
    /// [`ErrorKind::Transient`](vidflow_core::ErrorKind::Transient) for timeouts, lost
    /// connections and 5xx statuses.
    pub async fn fetch_page(&self, input: &str) -> Result<Page, VidflowError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(VidflowError::bad_input(
                "no page given: the URL or path is empty",
            ));
        }
        match self.source_of(trimmed, Resource::Page).await? {
            Source::Web(url) => {
                let got = self.fetch_http(url, Resource::Page).await?;
                let charset = got
                    .content_type
                    .charset
                    .clone()
                    .or_else(|| sniff_charset(&got.body, &got.content_type.essence));
                Ok(Page {
                    requested: input.to_owned(),
                    final_url: got.final_url.into(),
                    content_type: got.content_type.essence,
                    charset,
                    body: got.body,
                })
            }
            Source::File(path) => {
                let file = read_file(&path, self.policy.max_bytes)
                    .await
                    .map_err(|e| with_url_hint(e, trimmed))?;
                let shown = describe(&path);
                check_not_blank(&file.bytes, || format!("file {shown}"))?;
                let essence = page_type_for_extension(&path)
                    .or_else(|| sniff_page_type(&file.bytes))
                    .ok_or_else(|| {
                        VidflowError::bad_input(format!(
                            "file {shown} is neither HTML nor text (give a .html, .htm, .xhtml \
                             or .txt file, or a web page URL)"
                        ))
                    })?;
                Ok(Page {
                    requested: input.to_owned(),
                    final_url: file.url,
                    content_type: essence.to_owned(),
                    charset: sniff_charset(&file.bytes, essence),
                    body: file.bytes,
                })
            }
        }
    }

    /// Fetches an image and returns its encoded bytes: `http(s)://` (under the same guard
    /// and limits as pages, with [`FetchPolicy::max_image_bytes`]), `file://`, or `data:`
    /// (base64 or percent-encoded). Only images are accepted: `image/*` by `Content-Type`,
    /// or, where the type is missing or `application/octet-stream`, by the bytes' format.
    ///
    /// `file://` URLs are read as given. Image URLs taken from a page should go through
    /// [`Fetcher::fetch_image_for_page`], which refuses local files for remote pages.
    ///
    /// An image whose header declares more than [`FetchPolicy::max_decoded_pixels`] is
    /// refused, naming its size, whatever its scheme.
    pub async fn fetch_image(&self, url: &str) -> Result<Vec<u8>, VidflowError> {
        let bytes = self.fetch_image_bytes(url).await?;
        check_declared_pixels(&bytes, self.policy.max_decoded_pixels, url)?;
        Ok(bytes)
    }

    async fn fetch_image_bytes(&self, url: &str) -> Result<Vec<u8>, VidflowError> {
        let trimmed = url.trim();
        if trimmed.is_empty() {
            return Err(VidflowError::bad_input("no image given: the URL is empty"));
        }
        if trimmed
            .get(..5)
            .is_some_and(|s| s.eq_ignore_ascii_case("data:"))
        {
            return self.image_from_data_url(trimmed);
        }
        let parsed = Url::parse(trimmed).map_err(|e| {
            VidflowError::bad_input(format!(
                "image URL '{}' is not a valid URL: {e}",
                abbreviate(trimmed)
            ))
        })?;
        match parsed.scheme() {
            "http" | "https" => Ok(self.fetch_http(parsed, Resource::Image).await?.body),
            "file" => {
                let path = path_of_file_url(&parsed)?;
                let file = read_file(&path, self.policy.max_image_bytes).await?;
                let shown = describe(&path);
                if file.bytes.is_empty() {
                    return Err(VidflowError::bad_input(format!(
                        "image file {shown} is empty"
                    )));
                }
                if sniff_image_type(&file.bytes).is_none() {
                    return Err(VidflowError::bad_input(format!(
                        "file {shown} is not an image in a format vidflow knows \
                         (PNG, JPEG, GIF, WebP, BMP, ICO, TIFF, AVIF or SVG)"
                    )));
                }
                Ok(file.bytes)
            }
            other => Err(VidflowError::bad_input(format!(
                "image URL '{}' uses the unsupported scheme '{other}:'; images must be \
                 http(s)://, file:// or data: URLs",
                abbreviate(trimmed)
            ))),
        }
    }

    /// Fetches an image that `page` refers to. Like [`Fetcher::fetch_image`], except that a
    /// page that did not itself come from a local file may not pull in `file://` images:
    /// otherwise any web page could make vidflow read (and show) files from the machine it
    /// runs on.
    pub async fn fetch_image_for_page(
        &self,
        page: &Page,
        url: &str,
    ) -> Result<Vec<u8>, VidflowError> {
        let is_file = |u: &str| {
            u.trim()
                .get(..5)
                .is_some_and(|s| s.eq_ignore_ascii_case("file:"))
        };
        if is_file(url) && !is_file(&page.final_url) {
            return Err(VidflowError::bad_input(format!(
                "image {} is a local file, but the page {} is not; a web page may not \
                 refer to files on this machine",
                abbreviate(url.trim()),
                page.final_url
            )));
        }
        self.fetch_image(url).await
    }

    fn image_from_data_url(&self, url: &str) -> Result<Vec<u8>, VidflowError> {
        let shown = abbreviate(url);
        let data = decode_data_url(url)?;
        let typed_image = ContentType {
            essence: data.media_type.clone(),
            charset: None,
        };
        let is_image = typed_image.is_image()
            || (typed_image.is_unknown() && sniff_image_type(&data.bytes).is_some());
        if !is_image {
            return Err(VidflowError::bad_input(format!(
                "data: URL {shown} is {}, not an image",
                data.media_type
            )));
        }
        if data.bytes.is_empty() {
            return Err(VidflowError::bad_input(format!(
                "data: URL {shown} holds no data"
            )));
        }
        if data.bytes.len() as u64 > self.policy.max_image_bytes {
            return Err(VidflowError::bad_input(format!(
                "data: URL {shown} holds {}, over the {} image limit",
                human_bytes(data.bytes.len() as u64),
                human_bytes(self.policy.max_image_bytes)
            )));
        }
        Ok(data.bytes)
    }

    /// Decides whether the user gave a web URL or a local file.
    async fn source_of(&self, input: &str, what: Resource) -> Result<Source, VidflowError> {
        match Url::parse(input) {
            Ok(url) => match url.scheme() {
                "http" | "https" => Ok(Source::Web(url)),
                "file" => Ok(Source::File(path_of_file_url(&url)?)),
                // `c:\page.html` parses as scheme `c`; and a local file may contain a colon.
                scheme
                    if scheme.len() == 1 || tokio::fs::try_exists(input).await.unwrap_or(false) =>
                {
                    Ok(Source::File(PathBuf::from(input)))
                }
                scheme => Err(VidflowError::bad_input(format!(
                    "'{}' uses the unsupported scheme '{scheme}:'; give an http:// or https:// \
                     URL, a file:// URL or a local path to the {}",
                    abbreviate(input),
                    what.noun()
                ))),
            },
            Err(e) if input.contains("://") => Err(VidflowError::bad_input(format!(
                "'{input}' is not a valid URL: {e}"
            ))),
            Err(_) => Ok(Source::File(PathBuf::from(input))),
        }
    }

    /// Fetches over HTTP(S) within the policy's total time limit.
    async fn fetch_http(&self, url: Url, what: Resource) -> Result<HttpBody, VidflowError> {
        let start = url.clone();
        match tokio::time::timeout(self.policy.timeout, self.follow_redirects(url, what)).await {
            Ok(result) => result,
            Err(_) => Err(VidflowError::transient(format!(
                "{} at {start} did not finish loading within {}",
                what.noun(),
                human_duration(self.policy.timeout)
            ))),
        }
    }

    /// Requests `start`, following up to `max_redirects` redirects, each hop checked anew.
    async fn follow_redirects(&self, start: Url, what: Resource) -> Result<HttpBody, VidflowError> {
        let mut url = start.clone();
        let mut redirects = 0usize;
        loop {
            let place = Place {
                what,
                url: &url,
                start: &start,
            };
            self.check_target(&place)?;
            let response = self
                .client
                .get(url.clone())
                .header(ACCEPT, what.accept())
                .send()
                .await
                .map_err(|e| transport_error(&e, &place))?;
            // The resolver and the literal check already vetted the address; this catches any
            // path to a connection that bypassed both.
            if let Some(peer) = response.remote_addr()
                && !self.guard.permits_literal(peer.ip())
            {
                let refused = ForbiddenAddress {
                    host: peer.ip().to_string(),
                    addresses: vec![peer.ip()],
                };
                return Err(VidflowError::bad_input(format!(
                    "refusing to fetch {place}: {refused}"
                )));
            }

            let status = response.status();
            if matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
                let next = redirect_target(&response, &place)?;
                redirects += 1;
                if redirects > self.policy.max_redirects {
                    return Err(VidflowError::bad_input(format!(
                        "{} at {start} redirected more than {} times (too many redirects; \
                         the last one pointed to {next})",
                        what.noun(),
                        self.policy.max_redirects
                    )));
                }
                url = next;
                continue;
            }
            if status.is_client_error() {
                return Err(VidflowError::bad_input(format!(
                    "{place} returned {status}"
                )));
            }
            if status.is_server_error() {
                return Err(VidflowError::transient(format!(
                    "{place} returned {status}"
                )));
            }
            if !status.is_success() {
                return Err(VidflowError::bad_input(format!(
                    "{place} returned {status}, which vidflow cannot use"
                )));
            }

            let declared = response
                .headers()
                .get(CONTENT_TYPE)
                .map(|v| ContentType::parse(&String::from_utf8_lossy(v.as_bytes())));
            let content_type = match (what, declared) {
                (Resource::Page, Some(ct)) if ct.is_page() => Some(ct),
                (Resource::Image, Some(ct)) if ct.is_image() => Some(ct),
                // Unknown or missing: the bytes decide, below.
                (_, Some(ct)) if ct.is_unknown() => None,
                (_, None) => None,
                (Resource::Page, Some(ct)) => {
                    return Err(VidflowError::bad_input(format!(
                        "{place} is {}, not HTML or text",
                        ct.essence
                    )));
                }
                (Resource::Image, Some(ct)) => {
                    return Err(VidflowError::bad_input(format!(
                        "{place} is {}, not an image",
                        ct.essence
                    )));
                }
            };
            // reqwest decodes gzip and then drops the header; any encoding still named here
            // is one it did not decode (brotli, say, sent unasked), whose bytes are not the
            // page and may be a bomb for whoever decodes them later.
            if let Some(encoding) = response.headers().get(CONTENT_ENCODING) {
                let encoding = String::from_utf8_lossy(encoding.as_bytes())
                    .trim()
                    .to_owned();
                if !encoding.eq_ignore_ascii_case("identity") {
                    return Err(VidflowError::bad_input(format!(
                        "{place} is sent with Content-Encoding '{}', which vidflow does not \
                         decode (it asks for gzip or none)",
                        abbreviate(&encoding)
                    )));
                }
            }
            let limit = match what {
                Resource::Page => self.policy.max_bytes,
                Resource::Image => self.policy.max_image_bytes,
            };
            let body = read_body(response, limit, &place).await?;
            check_not_blank(&body, || place.to_string())?;
            let content_type = match content_type {
                Some(ct) => ct,
                None => {
                    let sniffed = match what {
                        Resource::Page => sniff_page_type(&body),
                        Resource::Image => sniff_image_type(&body),
                    };
                    let essence = sniffed.ok_or_else(|| {
                        let wanted = match what {
                            Resource::Page => "HTML or text",
                            Resource::Image => "an image",
                        };
                        VidflowError::bad_input(format!(
                            "{place} has no usable Content-Type and its content is not {wanted}"
                        ))
                    })?;
                    ContentType {
                        essence: essence.to_owned(),
                        charset: None,
                    }
                }
            };
            return Ok(HttpBody {
                final_url: url,
                content_type,
                body,
            });
        }
    }

    /// Refuses targets the guard forbids before any connection is made: non-http(s) schemes
    /// (a redirect to `file://` must not read local files) and non-public IP literals.
    fn check_target(&self, place: &Place<'_>) -> Result<(), VidflowError> {
        let url = place.url;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(VidflowError::bad_input(format!(
                "{place} is not an http:// or https:// URL, so vidflow will not follow it"
            )));
        }
        let ip: Option<IpAddr> = match url.host() {
            None => {
                return Err(VidflowError::bad_input(format!("{place} has no host")));
            }
            Some(Host::Ipv4(v4)) => Some(v4.into()),
            Some(Host::Ipv6(v6)) => Some(v6.into()),
            Some(Host::Domain(_)) => None,
        };
        if let Some(ip) = ip {
            self.guard
                .check_literal(&ip.to_string(), ip)
                .map_err(|refused| {
                    VidflowError::bad_input(format!("refusing to fetch {place}: {refused}"))
                })?;
        }
        Ok(())
    }
}

/// How a URL is named in messages: "page at URL", plus where a redirect chain began.
struct Place<'a> {
    what: Resource,
    url: &'a Url,
    start: &'a Url,
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.what.noun(), self.url)?;
        if self.url != self.start {
            write!(f, " (redirected from {})", self.start)?;
        }
        Ok(())
    }
}

/// Where a redirect response points, resolved against the URL that sent it.
fn redirect_target(response: &reqwest::Response, place: &Place<'_>) -> Result<Url, VidflowError> {
    let status = response.status();
    let location = response.headers().get(LOCATION).ok_or_else(|| {
        VidflowError::bad_input(format!(
            "{place} returned {status} without a Location header"
        ))
    })?;
    let location = std::str::from_utf8(location.as_bytes()).map_err(|_| {
        VidflowError::bad_input(format!(
            "{place} redirected to a Location that is not valid UTF-8"
        ))
    })?;
    place.url.join(location.trim()).map_err(|e| {
        VidflowError::bad_input(format!(
            "{place} redirected to '{location}', which is not a valid URL: {e}"
        ))
    })
}

/// Streams the body, stopping as soon as it passes `limit`.
async fn read_body(
    mut response: reqwest::Response,
    limit: u64,
    place: &Place<'_>,
) -> Result<Vec<u8>, VidflowError> {
    if let Some(length) = response.content_length()
        && length > limit
    {
        return Err(VidflowError::bad_input(format!(
            "{place} is {}, over the {} limit",
            human_bytes(length),
            human_bytes(limit)
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(&e, place))?
    {
        if (body.len() + chunk.len()) as u64 > limit {
            // Dropping the response here closes the connection: the rest is never read.
            return Err(VidflowError::bad_input(format!(
                "{place} is larger than the {} limit (stopped reading at {})",
                human_bytes(limit),
                human_bytes(body.len() as u64)
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Refuses an image whose header declares more pixels than `max`: decoding it would need
/// width × height × 4 bytes whatever its file size. Formats whose size cannot be read from
/// the header (SVG) pass; the decoder's own limits stand behind this check.
fn check_declared_pixels(bytes: &[u8], max: u64, url: &str) -> Result<(), VidflowError> {
    let Ok(size) = imagesize::blob_size(bytes) else {
        return Ok(());
    };
    let pixels = (size.width as u64).saturating_mul(size.height as u64);
    if pixels > max {
        return Err(VidflowError::bad_input(format!(
            "image {} declares {} × {} pixels ({:.1} megapixels), over the limit of {:.1} \
             megapixels (limits.max_decoded_pixels); it is not decoded",
            abbreviate(url.trim()),
            size.width,
            size.height,
            pixels as f64 / 1e6,
            max as f64 / 1e6
        )));
    }
    Ok(())
}

/// Refuses a body with nothing in it.
fn check_not_blank(body: &[u8], name: impl FnOnce() -> String) -> Result<(), VidflowError> {
    if body.is_empty() {
        Err(VidflowError::bad_input(format!("{} is empty", name())))
    } else if body.iter().all(|b| b.is_ascii_whitespace()) {
        Err(VidflowError::bad_input(format!(
            "{} is empty (only whitespace)",
            name()
        )))
    } else {
        Ok(())
    }
}

/// Classifies a client error: what the user must fix (bad input) or what may pass (transient).
fn transport_error(e: &reqwest::Error, place: &Place<'_>) -> VidflowError {
    if let Some(refused) = find_source::<ForbiddenAddress>(e) {
        return VidflowError::bad_input(format!("refusing to fetch {place}: {refused}"));
    }
    if let Some(lookup) = find_source::<LookupFailure>(e) {
        return VidflowError::bad_input(format!("{place} is unreachable: {lookup}"));
    }
    if e.is_timeout() {
        return VidflowError::transient(format!("{place} timed out"));
    }
    let address = match (place.url.host_str(), place.url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        _ => place.url.to_string(),
    };
    match find_source::<std::io::Error>(e).map(|io| io.kind()) {
        Some(IoKind::ConnectionRefused) => {
            return VidflowError::bad_input(format!(
                "{place} is unreachable: connection to {address} refused"
            ));
        }
        Some(
            IoKind::ConnectionReset
            | IoKind::ConnectionAborted
            | IoKind::BrokenPipe
            | IoKind::UnexpectedEof,
        ) => {
            return VidflowError::transient(format!(
                "{place}: the connection was lost ({})",
                chain(e)
            ));
        }
        Some(IoKind::TimedOut) => {
            return VidflowError::transient(format!("{place} timed out ({})", chain(e)));
        }
        _ => {}
    }
    if e.is_connect() {
        // Unroutable host, TLS certificate the system does not trust, and the like.
        return VidflowError::bad_input(format!(
            "{place} is unreachable: cannot connect to {address} ({})",
            chain(e)
        ));
    }
    if e.is_decode() {
        return VidflowError::bad_input(format!(
            "{place} sent a body that cannot be decoded ({})",
            chain(e)
        ));
    }
    // The connection broke after it was made (closed early, truncated body): worth a retry.
    VidflowError::transient(format!("{place}: the transfer failed ({})", chain(e)))
}

/// The first error of type `T` in `e`'s source chain.
fn find_source<'e, T: std::error::Error + 'static>(
    e: &'e (dyn std::error::Error + 'static),
) -> Option<&'e T> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        current = err.source();
    }
    None
}

/// The causes of an error, joined, without reqwest's own "error sending request for url"
/// (the message names the URL already).
fn chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = std::error::Error::source(e);
    while let Some(err) = current {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// Adds a hint to a missing-file error when the input was probably a URL without `https://`.
fn with_url_hint(e: VidflowError, input: &str) -> VidflowError {
    if !e.message.ends_with("does not exist") {
        return e;
    }
    let first = input.split('/').next().unwrap_or_default();
    let looks_like_host = !input.starts_with(['.', '/', '~'])
        && input.contains('/')
        && first.contains('.')
        && Path::new(first).extension().is_some_and(|ext| {
            !ext.is_empty()
                && ext
                    .to_str()
                    .is_some_and(|e| e.chars().all(|c| c.is_ascii_alphabetic()))
        })
        && page_type_for_extension(Path::new(first)).is_none();
    if looks_like_host {
        let mut e = e;
        e.message = format!(
            "{}; to fetch a web page, give the full URL (https://{input})",
            e.message
        );
        e
    } else {
        e
    }
}

fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_defaults_match_the_issue() {
        let p = FetchPolicy::default();
        assert!(!p.allow_private_network);
        assert_eq!(p.max_redirects, 5);
        assert_eq!(p.timeout, Duration::from_secs(20));
        assert_eq!(p.max_bytes, 10 * 1024 * 1024);
        assert_eq!(p.max_image_bytes, 8 * 1024 * 1024);
        assert_eq!(p.max_decoded_pixels, 40_000_000);
        assert!(p.user_agent.starts_with("vidflow/"));
    }

    #[test]
    fn the_config_sets_the_limits() {
        let mut config = Config::default();
        config.limits.max_page_bytes = 1000;
        config.limits.max_image_bytes = 2000;
        config.limits.max_decoded_pixels = 3000;
        config.limits.max_redirects = 1;
        config.timeouts.fetch = 7;
        config.allow_private_network = true;
        let p = FetchPolicy::from_config(&config);
        assert_eq!(
            (p.max_bytes, p.max_image_bytes, p.max_decoded_pixels),
            (1000, 2000, 3000)
        );
        assert_eq!(p.max_redirects, 1);
        assert_eq!(p.timeout, Duration::from_secs(7));
        assert!(p.allow_private_network);
        // The defaults agree, so a config left alone changes nothing.
        let d = FetchPolicy::from_config(&Config::default());
        assert_eq!(d.max_bytes, FetchPolicy::default().max_bytes);
        assert_eq!(d.max_image_bytes, FetchPolicy::default().max_image_bytes);
        assert_eq!(d.max_redirects, FetchPolicy::default().max_redirects);
    }

    /// A PNG header declaring `w` × `h` (the rest of the file need not exist: the check
    /// reads the header only).
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&w.to_be_bytes());
        png.extend_from_slice(&h.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        png
    }

    #[test]
    fn images_declaring_too_many_pixels_are_refused_before_decoding() {
        let bomb = png_header(100_000, 100_000);
        let e =
            check_declared_pixels(&bomb, 40_000_000, "https://example.org/bomb.png").unwrap_err();
        assert_eq!(e.kind, vidflow_core::ErrorKind::BadInput);
        assert!(e.message.contains("100000 × 100000"), "{}", e.message);
        assert!(e.message.contains("max_decoded_pixels"), "{}", e.message);
        check_declared_pixels(&png_header(4000, 3000), 40_000_000, "x").unwrap();
        // What the header cannot size passes to the decoder's own limits.
        check_declared_pixels(b"<svg width='9e9'/>", 1, "x").unwrap();
    }

    #[test]
    fn fetcher_is_clone_send_sync() {
        fn assert_traits<T: Clone + Send + Sync + 'static>() {}
        assert_traits::<Fetcher>();
    }

    #[test]
    fn invalid_user_agent_is_bad_input() {
        let policy = FetchPolicy {
            user_agent: "bad\nagent".into(),
            ..FetchPolicy::default()
        };
        let e = Fetcher::new(policy).unwrap_err();
        assert_eq!(e.kind, vidflow_core::ErrorKind::BadInput);
        assert!(e.message.contains("user agent"), "{}", e.message);
    }

    #[test]
    fn missing_file_that_looks_like_a_host_gets_a_hint() {
        let e = VidflowError::bad_input("file example.com/article does not exist");
        let hinted = with_url_hint(e, "example.com/article");
        assert!(
            hinted.message.ends_with("(https://example.com/article)"),
            "{}",
            hinted.message
        );
        let e = VidflowError::bad_input("file pages/a.html does not exist");
        assert!(
            !with_url_hint(e, "pages/a.html")
                .message
                .contains("https://")
        );
        let e = VidflowError::bad_input("file page.html/x does not exist");
        assert!(!with_url_hint(e, "page.html/x").message.contains("https://"));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_secs(20)), "20 s");
        assert_eq!(human_duration(Duration::from_millis(300)), "300 ms");
    }
}
