//! The pages, as HTML. Each is a shell: the layout, the forms and empty places that the
//! script fills from the JSON API. Nothing here is secret, so the pages need no key; the
//! data does.
//!
//! Every element the script fills or the tests look for has an `id`; every field that the
//! API may reject carries `data-field` with the API's name for it, so that a 422's
//! `fields` land next to the field they concern.

use maud::{DOCTYPE, Markup, html};

/// One option of a select: an id the API takes and what a person reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The API's id.
    pub id: String,
    /// What the person reads.
    pub label: String,
}

/// What the new-video form offers, and whether the API wants a key.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Built-in presenters (their previews come from `/v1/avatars/{id}/preview.png`).
    pub avatars: Vec<Choice>,
    /// Voices.
    pub voices: Vec<Choice>,
    /// True when the API needs a key.
    pub auth: bool,
}

/// The navigation: (page id, path, label).
const NAV: [(&str, &str, &str); 5] = [
    ("new", "/", "New video"),
    ("jobs", "/ui/jobs", "Jobs"),
    ("studies", "/ui/studies", "Studies"),
    ("status", "/ui/status", "Status"),
    ("docs", "/docs/", "API"),
];

fn layout(page: &str, title: &str, auth: bool, data_id: Option<&str>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · vidflow" }
                link rel="icon" href="/ui/assets/icon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/ui/assets/style.css";
                script src="/ui/assets/app.js" defer {}
            }
            body data-page=(page) data-auth=(if auth { "on" } else { "off" }) data-id=[data_id] {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "vidflow" }
                    nav aria-label="Main" {
                        ul {
                            @for (id, href, label) in NAV {
                                li {
                                    @if id == page {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                    div #session.session {
                        span #session-state role="status" {}
                        button #logout type="button" hidden { "Log out" }
                    }
                }
                (login_form())
                main #main tabindex="-1" {
                    h1 { (title) }
                    p #page-error.error role="alert" hidden {}
                    (main)
                }
            }
        }
    }
}

fn login_form() -> Markup {
    html! {
        section #login.card hidden aria-labelledby="login-title" {
            h2 #login-title { "API key" }
            p { "This server wants an API key. It is kept in this tab only, and sent in a header, never in a link." }
            form #login-form {
                label for="login-key" { "Key" }
                input #login-key name="key" type="password" autocomplete="current-password" required;
                p #login-error.field-error role="alert" hidden {}
                button type="submit" { "Log in" }
            }
        }
    }
}

/// `/`: the new-video form.
pub fn new_video(catalog: &Catalog) -> Markup {
    let main = html! {
        form #video-form.card novalidate {
            fieldset {
                legend { "What to narrate" }
                div.tabs role="radiogroup" aria-label="Source" {
                    label { input type="radio" name="source" value="url" checked; " A page's URL" }
                    label { input type="radio" name="source" value="html"; " Its HTML" }
                    label { input type="radio" name="source" value="script"; " Your own script" }
                }
                div.field data-source="url" {
                    label for="url" { "URL" }
                    input #url name="url" type="url" inputmode="url" placeholder="https://example.org/article" data-field="url" aria-describedby="url-error";
                    p #url-error.field-error data-error-for="url" role="alert" hidden {}
                }
                div.field data-source="html" hidden {
                    label for="html" { "HTML of the page" }
                    textarea #html name="html" rows="8" data-field="html" aria-describedby="html-error" {}
                    label for="html-file" { "or a saved page" }
                    input #html-file type="file" accept=".html,.htm,text/html";
                    p #html-error.field-error data-error-for="html" role="alert" hidden {}
                }
                div.field data-source="script" hidden {
                    label for="script" { "Script (one segment per paragraph; a short first line is the title)" }
                    textarea #script name="script" rows="8" data-field="script" aria-describedby="script-error" {}
                    p #script-error.field-error data-error-for="script" role="alert" hidden {}
                }
            }
            fieldset {
                legend { "Presenter" }
                div.avatars {
                    @for (i, a) in catalog.avatars.iter().enumerate() {
                        label.avatar {
                            input type="radio" name="avatar" value=(a.id) checked[i == 0];
                            img data-src=(format!("/v1/avatars/{}/preview.png", a.id)) alt="" width="90" height="100";
                            span { (a.label) }
                        }
                    }
                }
                p #avatar-error.field-error data-error-for="avatar" role="alert" hidden {}
            }
            fieldset.grid {
                legend { "Video" }
                div.field {
                    label for="size" { "Size" }
                    select #size name="options.size" data-field="options.size" {
                        option value="1280x720" selected { "16:9 landscape (1280×720)" }
                        option value="1920x1080" { "16:9 landscape (1920×1080)" }
                        option value="1080x1920" { "9:16 portrait (1080×1920)" }
                        option value="1080x1080" { "1:1 square (1080×1080)" }
                    }
                    p.field-error data-error-for="options.size" role="alert" hidden {}
                }
                div.field {
                    label for="fps" { "Frames per second" }
                    select #fps name="options.fps" data-field="options.fps" {
                        @for f in [24, 25, 30, 60] {
                            option value=(f) selected[f == 30] { (f) }
                        }
                    }
                    p.field-error data-error-for="options.fps" role="alert" hidden {}
                }
                div.field {
                    label for="voice" { "Voice" }
                    select #voice name="options.voice" data-field="options.voice" {
                        @for v in &catalog.voices {
                            @if v.id.is_empty() {
                                option value="" selected { (v.label) }
                            } @else {
                                option value=(v.id) { (v.id) " — " (v.label) }
                            }
                        }
                    }
                    // The script puts a player here for voices with a sample (`sample_url`
                    // in /v1/voices).
                    p #voice-sample.hint data-sample-hook {}
                    p.field-error data-error-for="options.voice" role="alert" hidden {}
                }
                div.field {
                    label for="max-seconds" { "Longest narration, seconds" }
                    input #max-seconds name="options.max_seconds" type="number" min="1" max="600" step="1" value="60" data-field="options.max_seconds";
                    p.field-error data-error-for="options.max_seconds" role="alert" hidden {}
                }
                div.field.check {
                    input #subtitles name="options.subtitles" type="checkbox" checked data-field="options.subtitles";
                    label for="subtitles" { "Subtitles burnt into the picture" }
                }
            }
            p #form-error.error role="alert" hidden {}
            button #submit type="submit" { "Make the video" }
        }
    };
    layout("new", "New video", catalog.auth, None, main)
}

/// `/ui/jobs/{id}`: one job, live, then its result.
pub fn job(id: &str, auth: bool) -> Markup {
    let main = html! {
        section.card aria-labelledby="progress-title" {
            h2 #progress-title { "Progress" }
            p { "Job " code #job-id { (id) } ": " strong #job-state aria-live="polite" { "…" } }
            div #frames-block hidden {
                label for="frames" #frames-label { "Frames" }
                progress #frames max="100" value="0" {}
                span #frames-text {}
            }
            p { "Time left: " span #eta { "—" } }
            table #stages {
                caption.sr { "Stages" }
                thead { tr { th scope="col" { "Stage" } th scope="col" { "State" } th scope="col" { "Time" } th scope="col" { "Cache" } } }
                tbody {}
            }
            button #cancel type="button" hidden { "Cancel" }
            p #job-error.error role="alert" hidden {}
        }
        section #result.card hidden aria-labelledby="result-title" {
            h2 #result-title { "Result" }
            div.result {
                div.player {
                    video #video controls preload="metadata" playsinline {}
                    ul.downloads {
                        li { a #dl-mp4 download { "MP4" } }
                        li { a #dl-srt download { "SRT" } }
                        li { a #dl-vtt download { "VTT" } }
                    }
                    form #again-form {
                        label for="again-avatar" { "Make again with another presenter" }
                        select #again-avatar {}
                        button type="submit" { "Make again" }
                    }
                }
                div.texts {
                    h3 { "Script" }
                    ol #script-text {}
                    details {
                        summary { "Text taken from the page" }
                        div #article-text {}
                    }
                }
            }
        }
    };
    layout("job", "Job", auth, Some(id), main)
}

/// `/ui/jobs`: the jobs, newest first.
pub fn jobs(auth: bool) -> Markup {
    let main = html! {
        form #jobs-filter.inline {
            label for="state-filter" { "State" }
            select #state-filter {
                option value="" { "any" }
                @for s in ["queued", "running", "succeeded", "failed", "cancelled"] {
                    option value=(s) { (s) }
                }
            }
        }
        div.table-wrap {
            table #jobs {
                caption.sr { "Jobs" }
                thead { tr {
                    th scope="col" { "Job" } th scope="col" { "State" } th scope="col" { "Title" }
                    th scope="col" { "Length" } th scope="col" { "Created" } th scope="col" { "Took" }
                    th scope="col" { "Cache hits" } th scope="col" { span.sr { "Actions" } }
                } }
                tbody {}
            }
        }
        p #jobs-empty hidden { "No jobs." }
        nav.pager aria-label="Pages" {
            button #first-page type="button" { "First page" }
            button #next-page type="button" { "Next page" }
        }
    };
    layout("jobs", "Jobs", auth, None, main)
}

/// `/ui/studies`: the tuning searches (`POST /v1/tune` jobs).
pub fn studies(auth: bool) -> Markup {
    let main = html! {
        p { "Searches of the encoder's and the render's settings, started with " code { "POST /v1/tune" } " or " code { "vidflow tune" } "." }
        ul #studies.list {}
        p #studies-empty hidden { "No studies yet." }
    };
    layout("studies", "Studies", auth, None, main)
}

/// `/ui/studies/{id}`: one study: charts drawn by the server, the best settings.
pub fn study(id: &str, auth: bool) -> Markup {
    let main = html! {
        p { "Study of job " code { (id) } ": " strong #study-state { "…" } }
        figure.card {
            img #chart-history data-src=(format!("/v1/jobs/{id}/charts/history.svg")) alt="Each trial's result in the order it ran" width="640" height="360";
            figcaption { "Trial history" }
        }
        figure.card {
            img #chart-front data-src=(format!("/v1/jobs/{id}/charts/front.svg")) alt="Every trial, the Pareto front highlighted" width="640" height="360";
            figcaption { "Pareto front" }
        }
        section.card {
            h2 { "Best settings" }
            pre #best {}
            p #use-profile hidden {
                "Use this profile: give " code #profile-id {} " as " code { "options.encode_profile" } " in " code { "POST /v1/videos" } "."
            }
        }
    };
    layout("study", "Study", auth, Some(id), main)
}

/// `/ui/status`: the queue, the workers, the cache tiers.
pub fn status(auth: bool) -> Markup {
    let main = html! {
        div.cards {
            section.card { h2 { "Jobs" } dl #status-jobs {} }
            section.card { h2 { "Cache" } dl #status-cache {} }
            section.card { h2 { "Workers" } dl #status-workers {} }
            section.card { h2 { "Server" } dl #status-server {} }
        }
    };
    layout("status", "Status", auth, None, main)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_have_no_inline_script_or_style_and_escape_ids() {
        let catalog = Catalog {
            avatars: vec![Choice {
                id: "a".into(),
                label: "A".into(),
            }],
            voices: vec![],
            auth: false,
        };
        for page in [
            new_video(&catalog),
            job("<x>", true),
            jobs(true),
            studies(true),
            study("s", true),
            status(false),
        ] {
            let html = page.into_string();
            assert!(!html.contains("<script>"), "{html}");
            assert!(!html.contains(" style="), "{html}");
            assert!(!html.contains(" onclick="), "{html}");
            assert!(!html.contains("<x>"), "ids are escaped");
        }
    }

    #[test]
    fn every_api_field_has_a_place_for_its_error() {
        let html = new_video(&Catalog::default()).into_string();
        for field in [
            "url",
            "html",
            "script",
            "options.size",
            "options.fps",
            "options.voice",
            "options.max_seconds",
        ] {
            assert!(
                html.contains(&format!("data-field=\"{field}\"")),
                "{field} has no input"
            );
        }
    }
}
