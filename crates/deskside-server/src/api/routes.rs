//! Every route of the desk with its documentation: the router and the
//! OpenAPI document come from the same list, so they cannot disagree.

use super::*;

/// Every route of the desk with its documentation. The handlers' state is
/// not needed to describe them, so the OpenAPI document can be built
/// without a database.
pub(super) fn routes<S: Store>() -> DocRouter<AppState<S>> {
    use deskside_protocol::{Comment, NewComment, NewTicket, Ticket};
    use openapi::{Auth, Op};
    let id_pattern = serde_json::json!({"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"});
    DocRouter::default()
        .route(
            "/healthz",
            get(healthz),
            [Op::get("Liveness").reply::<Status>(200, "Alive")],
        )
        .route(
            "/readyz",
            get(readyz::<S>),
            [Op::get("Readiness: the database answers").reply::<Status>(200, "Ready")],
        )
        .route(
            "/metrics",
            get(prometheus::<S>),
            [Op::get("Prometheus metrics").text("Metrics in the Prometheus text format")],
        )
        .route(
            "/api/v1/openapi.json",
            get(openapi_json::<S>),
            [Op::get("This document").reply::<serde_json::Value>(200, "The OpenAPI document")],
        )
        .route(
            "/api/v1/enroll",
            post(agent::enroll::<S>),
            [Op::post("Enroll a device")
                .json::<EnrollRequest>()
                .reply::<EnrollResponse>(201, "Enrolled")
                .reply::<EnrollResponse>(200, "Enrolled again: same device, new token")
                .errors(&[401, 429])],
        )
        .route(
            "/api/v1/enroll/challenge",
            post(agent::enroll_challenge::<S>),
            [Op::post("A single-use challenge to sign for enrollment with a device key")
                .reply::<deskside_protocol::EnrollChallenge>(200, "Sign it within its lifetime")
                .errors(&[429])],
        )
        .route(
            "/api/v1/agent/inventory",
            put(agent::put_inventory::<S>),
            [Op::put("Upload the full inventory (gzip accepted)")
                .auth(Auth::Device)
                .json::<Inventory>()
                .reply::<InventoryAck>(200, "Stored")],
        )
        .route(
            "/api/v1/agent/checkin",
            // The answer can carry the published articles: compressed.
            post(agent::checkin::<S>).layer(tower_http::compression::CompressionLayer::new().gzip(true)),
            [Op::post("Check in")
                .auth(Auth::Device)
                .json::<CheckinRequest>()
                .reply::<CheckinResponse>(200, "What the desk wants")],
        )
        .route(
            "/api/v1/agent/reports",
            post(agent::report::<S>),
            [Op::post("Record a report begun in the tray, or how it ended")
                .auth(Auth::Device)
                .json::<deskside_protocol::TrayReport>()
                .empty(204, "Recorded")
                .errors(&[409, 429])],
        )
        .route(
            "/api/v1/agent/tickets",
            post(agent::create_ticket::<S>)
                .get(agent::list_tickets::<S>)
                .layer(DefaultBodyLimit::max(agent::MAX_TICKET_BYTES)),
            [
                Op::post("Submit a ticket with diagnostics and attachments")
                    .auth(Auth::Device)
                    .ticket_multipart::<NewTicket>()
                    .header(
                        "Idempotency-Key",
                        "The same key returns the same ticket",
                        id_pattern.clone(),
                    )
                    .reply::<Ticket>(201, "Created")
                    .reply::<Ticket>(200, "Submitted before with this key: the same ticket"),
                Op::get("This device's tickets, newest first")
                    .auth(Auth::Device)
                    .reply::<Vec<Ticket>>(200, "Tickets"),
            ],
        )
        .route(
            "/api/v1/agent/tickets/{id}",
            get(agent::get_ticket::<S>),
            [Op::get("One ticket with its public conversation")
                .auth(Auth::Device)
                .reply::<Ticket>(200, "The ticket")],
        )
        .route(
            "/api/v1/agent/tickets/{id}/comments",
            post(agent::device_comment::<S>),
            [Op::post("Answer on a ticket")
                .auth(Auth::Device)
                .json::<NewComment>()
                .optional_header(
                    "Idempotency-Key",
                    "A retry with the same key returns the first comment",
                    id_pattern.clone(),
                )
                .reply::<Comment>(201, "Added")
                .reply::<Comment>(200, "Sent before with this key: the same comment")],
        )
        .route(
            "/api/v1/agent/tickets/{id}/rating",
            post(agent::device_rating::<S>),
            [Op::post("Rate a resolved ticket, once")
                .auth(Auth::Device)
                .json::<agent::Rating>()
                .empty(204, "Rated")
                .errors(&[409])],
        )
        .route(
            "/api/v1/agent/tickets/{id}/reopen",
            post(agent::device_reopen::<S>),
            [Op::post("Reopen a resolved or closed ticket")
                .auth(Auth::Device)
                .empty(204, "Reopened")
                .errors(&[409])],
        )
        .route(
            "/api/v1/agent/tickets/{id}/attachments/{attachment}",
            get(agent::device_attachment::<S>),
            [Op::get("Download an attachment")
                .auth(Auth::Device)
                .binary("The file, as an attachment")],
        )
        .route(
            "/api/v1/tickets",
            get(tickets::tech_list_tickets::<S>).post(tickets::tech_create_ticket::<S>),
            [
                Op::get("The ticket queue")
                    .auth(Auth::User)
                    .query::<tickets::TicketQuery>()
                    .reply::<tickets::TicketPage>(200, "One page"),
                Op::post("Open a ticket on someone's behalf (phone, walk-in, e-mail, chat), with or without a device")
                    .auth(Auth::User)
                    .json::<tickets::DeskTicketInput>()
                    .optional_header(
                        "Idempotency-Key",
                        "A retry with the same key returns the first ticket",
                        id_pattern.clone(),
                    )
                    .reply::<tickets::TicketDetail>(201, "Created")
                    .reply::<tickets::TicketDetail>(200, "Opened before with this key: the same ticket"),
            ],
        )
        .route(
            "/api/v1/reports/kpis",
            get(reports::kpis::<S>),
            [Op::get("The help desk's KPIs over a period, per group and per day (JSON or CSV)")
                .auth(Auth::User)
                .query::<reports::KpiQuery>()
                .reply::<crate::kpi::KpiReport>(200, "The report; with format=csv, a CSV download")],
        )
        .route(
            "/api/v1/reports/deflection",
            get(reports::deflection::<S>),
            [Op::get("Reports begun in the tray over a period, how many an article ended, and which articles")
                .auth(Auth::User)
                .query::<reports::DeflectionQuery>()
                .reply::<deskside_protocol::Deflection>(200, "The figures")],
        )
        .route(
            "/api/v1/problems",
            get(problems::list::<S>).post(problems::create::<S>),
            [
                Op::get("Problem records, newest first")
                    .auth(Auth::User)
                    .query::<problems::ProblemQuery>()
                    .reply::<Vec<deskside_protocol::Problem>>(200, "Problems"),
                Op::post("Open a problem record")
                    .auth(Auth::User)
                    .json::<deskside_protocol::ProblemInput>()
                    .reply::<problems::ProblemDetail>(201, "Created"),
            ],
        )
        .route(
            "/api/v1/problems/{id}",
            get(problems::get::<S>).patch(problems::patch::<S>),
            [
                Op::get("A problem with its linked incidents")
                    .auth(Auth::User)
                    .reply::<problems::ProblemDetail>(200, "The problem"),
                Op::patch("Change a problem: root cause, workaround, known error")
                    .auth(Auth::User)
                    .json::<deskside_protocol::ProblemInput>()
                    .reply::<problems::ProblemDetail>(200, "Changed"),
            ],
        )
        .route(
            "/api/v1/problems/candidates",
            get(problem_candidates::list::<S>),
            [Op::get("Problems the desk proposes: several devices' incidents after one software change")
                .auth(Auth::User)
                .query::<problem_candidates::CandidateQuery>()
                .reply::<Vec<deskside_protocol::ProblemCandidate>>(200, "Newest first")],
        )
        .route(
            "/api/v1/problems/candidates/{id}/accept",
            post(problem_candidates::accept::<S>),
            [Op::post("Accept a proposed problem: a problem record with its incidents linked")
                .auth(Auth::User)
                .json::<deskside_protocol::ProblemInput>()
                .reply::<deskside_protocol::ProblemCandidate>(201, "Accepted")
                .errors(&[409])],
        )
        .route(
            "/api/v1/problems/candidates/{id}/dismiss",
            post(problem_candidates::dismiss::<S>),
            [Op::post("Dismiss a proposed problem (not proposed again)")
                .auth(Auth::User)
                .reply::<deskside_protocol::ProblemCandidate>(200, "Dismissed")
                .errors(&[409])],
        )
        .route(
            "/api/v1/problems/{id}/resolve",
            post(problems::resolve::<S>),
            [Op::post("Resolve a problem, and resolve or notify its open incidents")
                .auth(Auth::User)
                .json::<deskside_protocol::ProblemResolution>()
                .reply::<problems::Resolved>(200, "Resolved")
                .errors(&[409])],
        )
        .route(
            "/api/v1/teams",
            get(teams::list_teams::<S>).post(teams::create_team::<S>),
            [
                Op::get("Teams with their members")
                    .auth(Auth::User)
                    .reply::<Vec<deskside_protocol::Team>>(200, "By name"),
                Op::post("Create a team")
                    .auth(Auth::Admin)
                    .json::<deskside_protocol::TeamInput>()
                    .reply::<deskside_protocol::Team>(201, "Created")
                    .errors(&[409]),
            ],
        )
        .route(
            "/api/v1/teams/{id}",
            put(teams::update_team::<S>).delete(teams::delete_team::<S>),
            [
                Op::put("Change a team: name, automatic assignment, members")
                    .auth(Auth::Admin)
                    .json::<deskside_protocol::TeamInput>()
                    .reply::<deskside_protocol::Team>(200, "Changed")
                    .errors(&[409]),
                Op::delete("Delete a team (its tickets keep no team)")
                    .auth(Auth::Admin)
                    .empty(204, "Deleted"),
            ],
        )
        .route(
            "/api/v1/kb/articles",
            get(kb::search::<S>).post(kb::create::<S>),
            [
                Op::get("Search the knowledge base (every term, in any language), best first")
                    .auth(Auth::User)
                    .query::<kb::ArticleQuery>()
                    .reply::<Vec<deskside_protocol::ArticleHit>>(200, "Best first"),
                Op::post("Write an article")
                    .auth(Auth::User)
                    .json::<deskside_protocol::ArticleInput>()
                    .reply::<deskside_protocol::Article>(201, "Written"),
            ],
        )
        .route(
            "/api/v1/kb/articles/{id}",
            get(kb::get::<S>).put(kb::update::<S>).delete(kb::delete::<S>),
            [
                Op::get("An article, each language's Markdown rendered to sanitized HTML")
                    .auth(Auth::User)
                    .reply::<deskside_protocol::Article>(200, "The article"),
                Op::put("Replace an article (conditional on `version`)")
                    .auth(Auth::User)
                    .json::<deskside_protocol::ArticleInput>()
                    .reply::<deskside_protocol::Article>(200, "Changed")
                    .errors(&[409]),
                Op::delete("Delete an article")
                    .auth(Auth::User)
                    .empty(204, "Deleted"),
            ],
        )
        .route(
            "/api/v1/tickets/{id}/articles",
            get(kb::ticket_articles::<S>),
            [Op::get("The knowledge-base articles linked to a ticket")
                .auth(Auth::User)
                .reply::<Vec<deskside_protocol::ArticleHit>>(200, "Linked articles")],
        )
        .route(
            "/api/v1/tickets/{id}/report",
            get(kb::ticket_report::<S>),
            [Op::get("The articles the tray showed the employee before they filed the ticket")
                .auth(Auth::User)
                .query::<kb::LangQuery>()
                .reply::<Option<deskside_protocol::ShownArticles>>(200, "Shown articles, or null")],
        )
        .route(
            "/api/v1/tickets/{id}/articles/{article}",
            put(kb::link::<S>).delete(kb::unlink::<S>),
            [
                Op::put("Link an article to a ticket")
                    .auth(Auth::User)
                    .empty(204, "Linked"),
                Op::delete("Unlink an article from a ticket")
                    .auth(Auth::User)
                    .empty(204, "Unlinked"),
            ],
        )
        .route(
            "/api/v1/kb/preview",
            post(kb::preview::<S>),
            [Op::post("Markdown rendered as an article shows it (sanitized)")
                .auth(Auth::User)
                .json::<deskside_protocol::MarkdownPreview>()
                .reply::<deskside_protocol::RenderedHtml>(200, "HTML")],
        )
        .route(
            "/api/v1/webhooks",
            get(webhooks::list_webhooks::<S>).post(webhooks::create_webhook::<S>),
            [
                Op::get("Webhook subscriptions (without their secrets)")
                    .auth(Auth::Admin)
                    .reply::<Vec<deskside_protocol::Webhook>>(200, "Oldest first"),
                Op::post("Subscribe a URL to events; the signing secret is shown this once")
                    .auth(Auth::Admin)
                    .json::<deskside_protocol::WebhookInput>()
                    .reply::<deskside_protocol::WebhookCreated>(201, "Created"),
            ],
        )
        .route(
            "/api/v1/webhooks/{id}",
            axum::routing::patch(webhooks::update_webhook::<S>).delete(webhooks::delete_webhook::<S>),
            [
                Op::patch("Change a subscription's URL or events, or pause it")
                    .auth(Auth::Admin)
                    .json::<deskside_protocol::WebhookPatch>()
                    .reply::<deskside_protocol::Webhook>(200, "Changed"),
                Op::delete("Delete a subscription and its deliveries")
                    .auth(Auth::Admin)
                    .empty(204, "Deleted"),
            ],
        )
        .route(
            "/api/v1/webhooks/{id}/deliveries",
            get(webhooks::list_deliveries::<S>),
            [Op::get("A subscription's deliveries, newest first")
                .auth(Auth::Admin)
                .query::<webhooks::DeliveriesQuery>()
                .reply::<Vec<deskside_protocol::WebhookDelivery>>(200, "Newest first")],
        )
        .route(
            "/api/v1/webhooks/deliveries/{id}/redeliver",
            post(webhooks::redeliver::<S>),
            [Op::post("Send a delivery again (same delivery id), for another 24 hours")
                .auth(Auth::Admin)
                .reply::<deskside_protocol::WebhookDelivery>(200, "Pending again")],
        )
        .route(
            "/api/v1/auth/away",
            put(teams::set_away::<S>),
            [Op::put("Mark yourself away (automatic assignment skips you), or back")
                .auth(Auth::User)
                .json::<teams::Away>()
                .empty(204, "Marked")],
        )
        .route(
            "/api/v1/sla/calendars",
            get(sla::list_calendars::<S>).post(sla::create_calendar::<S>),
            [
                Op::get("Business-hours calendars")
                    .auth(Auth::User)
                    .reply::<Vec<deskside_protocol::SlaCalendar>>(200, "By name"),
                Op::post("Create a calendar")
                    .auth(Auth::Admin)
                    .json::<deskside_protocol::SlaCalendarInput>()
                    .reply::<deskside_protocol::SlaCalendar>(201, "Created")
                    .errors(&[409]),
            ],
        )
        .route(
            "/api/v1/sla/calendars/{id}",
            put(sla::update_calendar::<S>).delete(sla::delete_calendar::<S>),
            [
                Op::put("Change a calendar (open tickets are evaluated again)")
                    .auth(Auth::Admin)
                    .json::<deskside_protocol::SlaCalendarInput>()
                    .reply::<deskside_protocol::SlaCalendar>(200, "Changed")
                    .errors(&[409]),
                Op::delete("Delete a calendar no policy uses")
                    .auth(Auth::Admin)
                    .empty(204, "Deleted")
                    .errors(&[409]),
            ],
        )
        .route(
            "/api/v1/sla/holidays",
            post(sla::import_holidays::<S>),
            [Op::post("The holiday dates in an iCalendar (.ics) file, for a calendar being edited")
                .auth(Auth::User)
                .json::<sla::IcsImport>()
                .reply::<sla::Holidays>(200, "The dates")],
        )
        .route(
            "/api/v1/sla/policies",
            get(sla::list_policies::<S>).post(sla::create_policy::<S>),
            [
                Op::get("SLA policies in the order they are tried")
                    .auth(Auth::User)
                    .reply::<Vec<deskside_protocol::SlaPolicy>>(200, "In order"),
                Op::post("Create a policy (tried after the others)")
                    .auth(Auth::Admin)
                    .json::<deskside_protocol::SlaPolicyInput>()
                    .reply::<deskside_protocol::SlaPolicy>(201, "Created")
                    .errors(&[409]),
            ],
        )
        .route(
            "/api/v1/sla/policies/order",
            put(sla::order_policies::<S>),
            [Op::put("Put the policies in order")
                .auth(Auth::Admin)
                .json::<sla::PolicyOrder>()
                .reply::<Vec<deskside_protocol::SlaPolicy>>(200, "In their new order")],
        )
        .route(
            "/api/v1/sla/policies/{id}",
            put(sla::update_policy::<S>).delete(sla::delete_policy::<S>),
            [
                Op::put("Change a policy (open tickets are evaluated again)")
                    .auth(Auth::Admin)
                    .json::<deskside_protocol::SlaPolicyInput>()
                    .reply::<deskside_protocol::SlaPolicy>(200, "Changed")
                    .errors(&[409]),
                Op::delete("Delete a policy").auth(Auth::Admin).empty(204, "Deleted"),
            ],
        )
        .route(
            "/api/v1/tickets/count",
            get(tickets::tech_count_tickets::<S>),
            [Op::get("How many tickets match the queue's filters")
                .auth(Auth::User)
                .query::<tickets::TicketQuery>()
                .reply::<tickets::TicketCount>(200, "The count")],
        )
        .route(
            "/api/v1/tickets/{id}/diagnostics",
            get(diagnostics::ticket_diagnostics::<S>),
            [Op::get("The ticket's diagnostics bundle, validated and parsed")
                .auth(Auth::User)
                .reply::<diagnostics::DiagnosticsView>(
                    200,
                    "The bundle, or why it cannot be shown (missing, corrupt, unknown version)",
                )],
        )
        .route(
            "/api/v1/tickets/{id}/presence",
            post(events::presence::<S>),
            [Op::post("Tell the other consoles you have this ticket open, or are typing")
                .auth(Auth::User)
                .json::<events::Presence>()
                .empty(204, "Told")],
        )
        .route(
            "/api/v1/events",
            get(events::events::<S>),
            [Op::get("Live changes: Server-Sent Events, resumable with Last-Event-ID")
                .auth(Auth::User)
                .query::<events::EventsQuery>()
                .optional_header(
                    "Last-Event-ID",
                    "Resume after this event",
                    serde_json::json!({"type": "string", "pattern": "^[0-9]{1,18}$"}),
                )
                .events::<events::EventView>("`change` events; a `ready` event once live")],
        )
        .route(
            "/api/v1/views",
            get(views::list_views::<S>).post(views::create_view::<S>),
            [
                Op::get("Your saved views of the queue or the device list")
                    .auth(Auth::User)
                    .query::<views::ViewScope>()
                    .reply::<views::ViewList>(200, "By name"),
                Op::post("Save a view of the queue or the device list")
                    .auth(Auth::User)
                    .json::<views::NewView>()
                    .reply::<views::ViewInfo>(201, "Saved")
                    .errors(&[409]),
            ],
        )
        .route(
            "/api/v1/views/{id}",
            axum::routing::delete(views::delete_view::<S>),
            [Op::delete("Delete one of your saved views")
                .auth(Auth::User)
                .empty(204, "Deleted")],
        )
        .route(
            "/api/v1/technicians",
            get(access::list_technicians::<S>),
            [Op::get("Whom tickets can be assigned to")
                .auth(Auth::User)
                .reply::<access::TechnicianList>(200, "Active users by e-mail")],
        )
        .route(
            "/api/v1/auth/session",
            get(admin::session),
            [Op::get("Who is logged in, with the session's CSRF token")
                .auth(Auth::User)
                .reply::<admin::LoginAnswer>(200, "The session")],
        )
        .route(
            "/api/v1/tickets/{id}",
            get(tickets::tech_get_ticket::<S>).patch(tickets::tech_patch_ticket::<S>),
            [
                Op::get("A ticket with internal notes and its audit trail")
                    .auth(Auth::User)
                    .reply::<tickets::TicketDetail>(200, "The ticket"),
                Op::patch("Work a ticket: status, assignee, category, impact, urgency, tier")
                    .auth(Auth::User)
                    .json::<tickets::TicketPatch>()
                    .optional_header(
                        "If-Match",
                        "Apply only to this version of the ticket (its ETag); a stale one answers 409 version_conflict with the current ticket",
                        serde_json::json!({"type": "string"}),
                    )
                    .reply::<tickets::TicketDetail>(200, "Changed")
                    .errors(&[400, 409]),
            ],
        )
        .route(
            "/api/v1/tickets/{id}/comments",
            post(tickets::tech_comment::<S>),
            [Op::post("Reply, or add an internal note")
                .auth(Auth::User)
                .json::<tickets::TechComment>()
                .reply::<tickets::CommentCreated>(201, "Added")],
        )
        .route(
            "/api/v1/tickets/{id}/attachments/{attachment}",
            get(tickets::tech_attachment::<S>),
            [Op::get("Download an attachment")
                .auth(Auth::User)
                .binary("The file, as an attachment")],
        )
        .route(
            "/api/v1/devices",
            get(devices::list_devices::<S>),
            [Op::get("Search devices")
                .auth(Auth::User)
                .query::<devices::DeviceQuery>()
                .reply::<devices::DevicePage>(200, "One page")],
        )
        .route(
            "/api/v1/devices/{id}",
            get(devices::get_device::<S>),
            [
                Op::get("A device: inventory, health, checks, tickets")
                    .auth(Auth::User)
                    .reply::<devices::DeviceDetail>(200, "The device"),
            ],
        )
        .route(
            "/api/v1/devices/{id}/metrics",
            get(devices::device_metrics::<S>),
            [
                Op::get("A device's metrics over a range: min, average and max per bucket")
                    .auth(Auth::User)
                    .query::<devices::MetricsQuery>()
                    .reply::<devices::DeviceMetrics>(200, "The series"),
            ],
        )
        .route(
            "/api/v1/devices/{id}/glpi",
            get(devices::device_glpi::<S>),
            [Op::get("A device's inventory in GLPI's native inventory format, as a download")
                .auth(Auth::User)
                .reply::<serde_json::Value>(200, "GLPI's inventory JSON (itemtype, deviceid, content)")],
        )
        .route(
            "/api/v1/devices/{id}/inventory/changes",
            get(devices::device_changes::<S>),
            [
                Op::get("What changed in a device's inventory, newest first, in bounded pages")
                    .auth(Auth::User)
                    .query::<devices::ChangesQuery>()
                    .reply::<devices::ChangesPage>(200, "One page"),
            ],
        )
        .route(
            "/api/v1/fleet",
            get(fleet::fleet::<S>),
            [
                Op::get("The fleet at a glance: health, silent devices, agents, failing checks, activity per day")
                    .auth(Auth::User)
                    .query::<fleet::FleetParams>()
                    .reply::<fleet::Fleet>(200, "The overview"),
            ],
        )
        .route(
            "/api/v1/software",
            get(devices::software::<S>),
            [
                Op::get("Installed software with versions and device counts")
                    .auth(Auth::User)
                    .query::<devices::SoftwareQuery>()
                    .reply::<devices::SoftwarePage>(200, "One page"),
            ],
        )
        .route(
            "/api/v1/policy",
            get(policy::get_policy::<S>).put(policy::put_policy::<S>),
            [
                Op::get("The health-check policy")
                    .auth(Auth::User)
                    .reply::<Policy>(200, "The policy")
                    // No policy published yet: agents use their built-in one.
                    .errors(&[404]),
                Op::put("Publish a new policy version")
                    .auth(Auth::Admin)
                    .json::<Policy>()
                    .optional_header(
                        "If-Match",
                        "Publish only while this version is current (\"0\": none yet); otherwise 409 version_conflict",
                        serde_json::json!({"type": "string"}),
                    )
                    .reply::<Policy>(200, "Published")
                    .errors(&[400, 409]),
            ],
        )
        .route(
            "/api/v1/policy/check",
            post(policy::check_policy::<S>),
            [Op::post("Check an edited policy (TOML or JSON) without publishing it")
                .auth(Auth::Admin)
                .json::<policy::PolicySource>()
                .reply::<policy::PolicyCheck>(200, "Its errors at their check and field, and its diff against the current version")],
        )
        .route(
            "/api/v1/policy/text",
            get(policy::policy_text::<S>),
            [Op::get("A policy version as TOML, for the editor")
                .auth(Auth::User)
                .query::<policy::PolicyTextQuery>()
                .reply::<policy::PolicyText>(200, "The text")
                .errors(&[404])],
        )
        .route(
            "/api/v1/policy/rollback",
            post(policy::rollback_policy::<S>),
            [Op::post("Publish an earlier version's checks again, as a new version")
                .auth(Auth::Admin)
                .json::<policy::PolicyRollback>()
                .optional_header(
                    "If-Match",
                    "Only while this version is current; otherwise 409 version_conflict",
                    serde_json::json!({"type": "string"}),
                )
                .reply::<Policy>(200, "Published")
                .errors(&[404, 409])],
        )
        .route(
            "/api/v1/policy/history",
            get(policy::policy_history::<S>),
            [Op::get("Every published policy version: who, when, and what changed")
                .auth(Auth::User)
                .query::<policy::PolicyHistoryQuery>()
                .reply::<policy::PolicyHistory>(200, "One page, newest first")],
        )
        .route(
            "/api/v1/enroll-secrets",
            get(admin::list_secrets::<S>).post(admin::create_secret::<S>),
            [
                Op::get("Enroll secrets")
                    .auth(Auth::Admin)
                    .reply::<admin::SecretList>(200, "Every secret, newest first"),
                Op::post("Create an enroll secret (shown once)")
                    .auth(Auth::Admin)
                    .json::<admin::NewSecret>()
                    .reply::<admin::SecretView>(201, "Created"),
            ],
        )
        .route(
            "/api/v1/enroll-secrets/{id}",
            axum::routing::delete(admin::revoke_secret::<S>),
            [Op::delete("Revoke an enroll secret")
                .auth(Auth::Admin)
                .empty(204, "Revoked")],
        )
        .route(
            "/api/v1/users",
            post(admin::create_user::<S>).get(access::list_users::<S>),
            [
                Op::post("Create a technician or administrator")
                    .auth(Auth::Admin)
                    .json::<admin::NewUser>()
                    .reply::<admin::UserView>(201, "Created")
                    .errors(&[409]),
                Op::get("Every user")
                    .auth(Auth::Admin)
                    .reply::<access::UserList>(200, "By id"),
            ],
        )
        .route(
            "/api/v1/auth/login",
            post(admin::login::<S>),
            [Op::post("Start a browser session")
                .json::<admin::Login>()
                .reply::<admin::LoginAnswer>(200, "Logged in; the session cookie is set")
                .errors(&[401, 429])],
        )
        .route(
            "/api/v1/auth/logout",
            post(admin::logout::<S>),
            [Op::post("End the browser session; with a bearer API token, revoke that token")
                .auth(Auth::User)
                .empty(204, "Logged out (the API token used is revoked)")],
        )
        .route(
            "/api/v1/tokens",
            get(access::list_tokens::<S>).post(access::create_token::<S>),
            [
                Op::get("Your API tokens (all=true: everyone's, administrators only)")
                    .auth(Auth::User)
                    .query::<access::TokenQuery>()
                    .reply::<access::TokenList>(200, "Newest first"),
                Op::post("Create an API token of your own (shown once)")
                    .auth(Auth::User)
                    .json::<access::NewToken>()
                    .reply::<access::CreatedToken>(201, "Created"),
            ],
        )
        .route(
            "/api/v1/users/{id}",
            axum::routing::patch(users::set_role::<S>),
            [Op::patch("Change a user's role (not your own)")
                .auth(Auth::Admin)
                .json::<users::UserPatch>()
                .empty(204, "Changed")
                .errors(&[404, 409])],
        )
        .route(
            "/api/v1/users/{id}/password",
            post(users::reset_password::<S>),
            [Op::post("Give a user a new random password (shown once); their sessions end")
                .auth(Auth::Admin)
                .reply::<users::NewPassword>(200, "The new password")
                .errors(&[404])],
        )
        .route(
            "/api/v1/auth/password",
            post(users::change_own_password::<S>),
            [Op::post("Change your own password; every session of yours ends")
                .auth(Auth::User)
                .json::<users::PasswordChange>()
                .empty(204, "Changed; log in again")
                .errors(&[401, 429])],
        )
        .route(
            "/api/v1/tokens/{id}",
            axum::routing::delete(access::revoke_token::<S>),
            [Op::delete("Revoke an API token (yours; administrators: anyone's)")
                .auth(Auth::User)
                .empty(204, "Revoked; it stops working at once")],
        )
        .route(
            "/api/v1/users/{id}/deactivate",
            post(access::deactivate_user::<S>),
            [Op::post("Deactivate a user: no login; sessions and tokens stop at once")
                .auth(Auth::Admin)
                .empty(204, "Deactivated")
                .errors(&[409])],
        )
        .route(
            "/api/v1/devices/{id}/revoke",
            post(access::revoke_device::<S>),
            [Op::post("Revoke a device: its token stops working at once")
                .auth(Auth::Admin)
                .empty(204, "Revoked")],
        )
        .route(
            "/api/v1/audit",
            get(access::audit_log::<S>),
            [Op::get("The audit log: policies, credentials, users, devices")
                .auth(Auth::Admin)
                .query::<access::AuditQuery>()
                .reply::<access::AuditPage>(200, "One page, newest first")],
        )
}

/// The OpenAPI document of the API.
pub fn openapi_document() -> serde_json::Value {
    routes::<crate::store::SqliteStore>().finish().1
}

/// The OpenAPI document as served and checked in under `docs/`.
pub fn openapi_text() -> String {
    let mut s = serde_json::to_string_pretty(&openapi_document()).unwrap_or_default();
    s.push('\n');
    s
}
